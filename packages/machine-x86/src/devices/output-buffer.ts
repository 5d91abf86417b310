/** Backing store shared between a live buffer and the states saved from it. */
class Store {
  data: Uint8Array;
  /** Highest length anybody (live buffer or saved state) has written into `data`. */
  used = 0;
  constructor(capacity: number) {
    this.data = new Uint8Array(capacity);
  }
}

/** Saved position of an {@link OutputBuffer}. */
export class OutputMark {
  constructor(
    /** @internal */ readonly store: Store,
    readonly length: number,
  ) {
    Object.freeze(this);
  }
}

const utf8 = new TextDecoder('utf-8');

/**
 * An append-only byte log with O(1) save/restore. Saved marks share the backing array: appending
 * at the frontier writes in place; appending after a restore to an earlier mark (when later bytes
 * exist in the store) first copies the prefix, so every saved mark keeps its bytes.
 */
export class OutputBuffer {
  private store = new Store(256);
  private len = 0;

  get length(): number {
    return this.len;
  }

  push(byte: number): void {
    let s = this.store;
    if (this.len !== s.used) {
      const copy = new Store(Math.max(256, this.len * 2));
      copy.data.set(s.data.subarray(0, this.len));
      copy.used = this.len;
      this.store = s = copy;
    }
    if (this.len === s.data.length) {
      const bigger = new Uint8Array(s.data.length * 2);
      bigger.set(s.data);
      s.data = bigger;
    }
    s.data[this.len++] = byte;
    s.used = this.len;
  }

  /** A copy of the bytes. */
  bytes(): Uint8Array {
    return this.store.data.slice(0, this.len);
  }

  /** The bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(): string {
    return utf8.decode(this.store.data.subarray(0, this.len));
  }

  clear(): void {
    this.store = new Store(256);
    this.len = 0;
  }

  mark(): OutputMark {
    return new OutputMark(this.store, this.len);
  }

  reset(mark: OutputMark): void {
    this.store = mark.store;
    this.len = mark.length;
  }
}
