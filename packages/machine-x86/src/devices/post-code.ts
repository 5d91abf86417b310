import { InvalidArgumentError } from '@latelaunch/kernel';
import { inject, injectable } from 'tsyringe';
import type { Bus } from '../bus/bus.js';
import { Attachment, bytePorts, optionsToken, type BusDevice } from './device.js';

export interface PostCodeOptions {
  /** Port. Default 0x80. */
  readonly port?: number;
  /** Device name. Default `post-code`. */
  readonly name?: string;
  /** How many of the most recent codes {@link PostCodePort.history} keeps. Default 64. */
  readonly historySize?: number;
}

/** Injection token for {@link PostCodeOptions}. */
export const PostCodeOptionsToken = optionsToken<PostCodeOptions>('PostCodeOptions');

class PostCodeState {
  constructor(
    readonly last: number,
    readonly writes: number,
    readonly ring: Uint8Array,
  ) {
    Object.freeze(this);
  }
}

/**
 * The POST-code port (0x80): records each byte written; reads return the last byte written
 * (0xFF before the first write). Also used by guests as an I/O delay port.
 */
@injectable()
export class PostCodePort implements BusDevice {
  readonly name: string;
  readonly description = 'POST code port';
  readonly port: number;
  private readonly historySize: number;
  private last = 0xff;
  private count = 0;
  /** Ring of the last `historySize` codes; write n goes to ring[n % historySize]. */
  private ring: Uint8Array;
  private listeners: ((code: number) => void)[] = [];
  private readonly attachment = new Attachment();

  constructor(@inject(PostCodeOptionsToken) options: PostCodeOptions = {}) {
    this.port = options.port ?? 0x80;
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 0xffff) throw new InvalidArgumentError(`POST port ${this.port} is outside 0..0xffff`);
    this.name = options.name ?? 'post-code';
    this.historySize = options.historySize ?? 64;
    if (!Number.isInteger(this.historySize) || this.historySize < 0) throw new InvalidArgumentError(`historySize ${this.historySize} must be an integer ≥ 0`);
    this.ring = new Uint8Array(this.historySize);
  }

  attach(bus: Bus): void {
    this.attachment.release();
    this.attachment.ports(
      bus,
      this.port,
      1,
      bytePorts(
        () => this.last,
        (_p, v) => this.write(v),
      ),
      this.name,
    );
  }

  detach(): void {
    this.attachment.release();
  }

  reset(): void {
    this.last = 0xff;
    this.count = 0;
    this.ring.fill(0);
  }

  /** Last code written (0xFF before any). */
  get lastCode(): number {
    return this.last;
  }

  /** Number of writes since reset. */
  get writes(): number {
    return this.count;
  }

  /** The most recent codes, oldest first. */
  get history(): number[] {
    const n = Math.min(this.count, this.historySize);
    const out: number[] = [];
    for (let i = this.count - n; i < this.count; i++) out.push(this.ring[i % this.historySize]);
    return out;
  }

  onCode(listener: (code: number) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  write(code: number): void {
    code &= 0xff;
    this.last = code;
    if (this.historySize > 0) this.ring[this.count % this.historySize] = code;
    this.count++;
    for (const l of this.listeners) l(code);
  }

  saveState(): unknown {
    return new PostCodeState(this.last, this.count, this.ring.slice());
  }

  loadState(state: unknown): void {
    if (!(state instanceof PostCodeState)) throw new InvalidArgumentError(`${this.name}.loadState: not a POST-code state`);
    this.last = state.last;
    this.count = state.writes;
    this.ring = state.ring.slice();
  }
}
