import { InvalidArgumentError, type VirtualTimeSource } from '@latelaunch/kernel';
import type { Snapshottable } from '../devices/snapshottable.js';

/** 1 tick = 1 ns of virtual time. */
export const TICKS_PER_SECOND = 1_000_000_000;
export const TICKS_PER_MILLISECOND = 1_000_000;
export const TICKS_PER_MICROSECOND = 1_000;

/** Called when an event comes due; `time` is the event's scheduled time (= `clock.now()` during the call). */
export type ClockEventCallback = (time: number, data: number) => void;

export interface VirtualClockOptions {
  /** Ticks one retired instruction costs ({@link VirtualClock.advanceInstructions}). Default 1 (a 1 GHz machine). */
  readonly ticksPerInstruction?: number;
  /** Initial event capacity (grows by doubling). Default 64. */
  readonly capacity?: number;
}

/** Handles encode the slot in the low bits so cancel() is O(log n) without a map. */
const SLOT_SPACE = 2 ** 21;

/** Saved clock state (immutable). */
class ClockState {
  constructor(
    readonly time: number,
    readonly seq: number,
    readonly ticksPerInstruction: number,
    /** [slot, time, seq, data] per pending event, plus its callback. */
    readonly events: readonly { slot: number; time: number; seq: number; data: number; callback: ClockEventCallback }[],
  ) {
    Object.freeze(this);
  }
}

/**
 * The machine's one virtual clock. Time is an integer count of ticks (1 tick = 1 ns of virtual time)
 * that only moves when the machine advances it: instructions cost {@link ticksPerInstruction} ticks
 * each; idle processors may skip to the next event.
 *
 * Events are kept in a binary min-heap ordered by (time, insertion sequence), so two events at the
 * same time fire in the order they were scheduled, on every run. The heap and its slot arrays are
 * typed arrays that only grow: scheduling, firing and cancelling allocate nothing in steady state.
 * Implements the kernel's `VirtualTimeSource`, so the trace bus can stamp records with it.
 */
export class VirtualClock implements VirtualTimeSource, Snapshottable {
  private t = 0;
  private seq = 0;
  private cap: number;
  private times: Float64Array;
  private seqs: Float64Array;
  private datas: Float64Array;
  private callbacks: (ClockEventCallback | undefined)[];
  /** slot -> position in heap, -1 when the slot is free. */
  private heapPos: Int32Array;
  private heap: Int32Array;
  private size = 0;
  private free: Int32Array;
  private freeCount: number;
  /** Time of the earliest pending event, Infinity when none. */
  private due = Infinity;
  ticksPerInstruction: number;

  constructor(options: VirtualClockOptions = {}) {
    const tpi = options.ticksPerInstruction ?? 1;
    if (!(tpi >= 0) || !Number.isFinite(tpi)) throw new InvalidArgumentError(`ticksPerInstruction ${tpi} must be a finite number ≥ 0`);
    this.ticksPerInstruction = tpi;
    this.cap = Math.max(4, Math.min(options.capacity ?? 64, SLOT_SPACE));
    this.times = new Float64Array(this.cap);
    this.seqs = new Float64Array(this.cap);
    this.datas = new Float64Array(this.cap);
    this.callbacks = new Array<ClockEventCallback | undefined>(this.cap).fill(undefined);
    this.heapPos = new Int32Array(this.cap).fill(-1);
    this.heap = new Int32Array(this.cap);
    this.free = new Int32Array(this.cap);
    for (let i = 0; i < this.cap; i++) this.free[i] = this.cap - 1 - i;
    this.freeCount = this.cap;
  }

  /** Current virtual time in ticks. */
  now(): number {
    return this.t;
  }

  /** Number of pending events. */
  get pending(): number {
    return this.size;
  }

  /** Time of the earliest pending event, or `Infinity`. */
  nextEventTime(): number {
    return this.due;
  }

  /**
   * Schedules `callback(time, data)` at absolute virtual time `time` (≥ now). Returns a handle for
   * {@link cancel}. Events at equal times fire in scheduling order.
   */
  schedule(time: number, callback: ClockEventCallback, data = 0): number {
    if (!(time >= this.t) || !Number.isFinite(time)) {
      throw new InvalidArgumentError(`cannot schedule an event at ${time}: now is ${this.t}`);
    }
    if (this.freeCount === 0) this.grow();
    const slot = this.free[--this.freeCount];
    const seq = this.seq++;
    this.times[slot] = time;
    this.seqs[slot] = seq;
    this.datas[slot] = data;
    this.callbacks[slot] = callback;
    const pos = this.size++;
    this.heap[pos] = slot;
    this.heapPos[slot] = pos;
    this.siftUp(pos);
    this.due = this.times[this.heap[0]];
    return seq * SLOT_SPACE + slot;
  }

  /** Schedules `delay` ticks from now. */
  scheduleIn(delay: number, callback: ClockEventCallback, data = 0): number {
    return this.schedule(this.t + delay, callback, data);
  }

  /** Cancels a pending event; returns false if it already fired or was cancelled. */
  cancel(handle: number): boolean {
    const slot = handle % SLOT_SPACE;
    const seq = Math.floor(handle / SLOT_SPACE);
    if (!(slot >= 0 && slot < this.cap) || this.heapPos[slot] < 0 || this.seqs[slot] !== seq) return false;
    this.removeAt(this.heapPos[slot]);
    return true;
  }

  /** Moves time forward by `ticks`, firing every event due on the way (each at its own time). */
  advance(ticks: number): void {
    const target = this.t + ticks;
    if (target < this.due) {
      if (!(ticks >= 0)) throw new InvalidArgumentError(`cannot advance the clock by ${ticks} ticks`);
      this.t = target;
      return;
    }
    this.advanceTo(target);
  }

  /** Advances by `count` instructions × {@link ticksPerInstruction}. */
  advanceInstructions(count = 1): void {
    this.advance(count * this.ticksPerInstruction);
  }

  /** Moves time to `target` (≥ now), firing every event with time ≤ target in (time, sequence) order. */
  advanceTo(target: number): void {
    if (!(target >= this.t) || !Number.isFinite(target)) {
      throw new InvalidArgumentError(`cannot move the clock from ${this.t} to ${target}`);
    }
    while (this.due <= target) this.fireNext();
    this.t = target;
  }

  /** Fires the events due at the current time (scheduled at ≤ now); returns how many fired. */
  runDue(): number {
    let n = 0;
    while (this.due <= this.t) {
      this.fireNext();
      n++;
    }
    return n;
  }

  /**
   * Jumps to the next pending event and fires every event at that time; returns false when none is
   * pending (idle machines: all processors halted, waiting for a timer).
   */
  skipToNextEvent(): boolean {
    if (this.size === 0) return false;
    this.advanceTo(this.due);
    return true;
  }

  private fireNext(): void {
    const slot = this.heap[0];
    const time = this.times[slot];
    const data = this.datas[slot];
    const cb = this.callbacks[slot]!;
    this.removeAt(0);
    this.t = time;
    cb(time, data);
  }

  private removeAt(pos: number): void {
    const slot = this.heap[pos];
    const last = this.heap[--this.size];
    this.heapPos[slot] = -1;
    this.callbacks[slot] = undefined;
    this.free[this.freeCount++] = slot;
    if (pos !== this.size) {
      this.heap[pos] = last;
      this.heapPos[last] = pos;
      this.siftDown(pos);
      this.siftUp(this.heapPos[last]);
    }
    this.due = this.size === 0 ? Infinity : this.times[this.heap[0]];
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a];
    const tb = this.times[b];
    return ta < tb || (ta === tb && this.seqs[a] < this.seqs[b]);
  }

  private siftUp(pos: number): void {
    const heap = this.heap;
    const slot = heap[pos];
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const ps = heap[parent];
      if (!this.less(slot, ps)) break;
      heap[pos] = ps;
      this.heapPos[ps] = pos;
      pos = parent;
    }
    heap[pos] = slot;
    this.heapPos[slot] = pos;
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const n = this.size;
    const slot = heap[pos];
    while (true) {
      const l = 2 * pos + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(heap[r], heap[l]) ? r : l;
      const cs = heap[c];
      if (!this.less(cs, slot)) break;
      heap[pos] = cs;
      this.heapPos[cs] = pos;
      pos = c;
    }
    heap[pos] = slot;
    this.heapPos[slot] = pos;
  }

  private grow(): void {
    const old = this.cap;
    const cap = Math.min(old * 2, SLOT_SPACE);
    if (cap === old) throw new InvalidArgumentError(`too many pending clock events (${old})`);
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.times = f64(this.times);
    this.seqs = f64(this.seqs);
    this.datas = f64(this.datas);
    this.callbacks.length = cap;
    this.callbacks.fill(undefined, old);
    const pos = new Int32Array(cap).fill(-1);
    pos.set(this.heapPos);
    this.heapPos = pos;
    const heap = new Int32Array(cap);
    heap.set(this.heap);
    this.heap = heap;
    const free = new Int32Array(cap);
    for (let i = 0; i < cap - old; i++) free[i] = cap - 1 - i;
    this.free = free;
    this.freeCount = cap - old;
    this.cap = cap;
  }

  /** Saves time, sequence counter and pending events (callbacks by reference). */
  saveState(): unknown {
    const events: { slot: number; time: number; seq: number; data: number; callback: ClockEventCallback }[] = [];
    for (let i = 0; i < this.size; i++) {
      const slot = this.heap[i];
      events.push(Object.freeze({ slot, time: this.times[slot], seq: this.seqs[slot], data: this.datas[slot], callback: this.callbacks[slot]! }));
    }
    return new ClockState(this.t, this.seq, this.ticksPerInstruction, Object.freeze(events));
  }

  /** Restores a state from {@link saveState}; handles of the events it holds stay valid. */
  loadState(state: unknown): void {
    if (!(state instanceof ClockState)) throw new InvalidArgumentError('VirtualClock.loadState: not a clock state');
    for (let i = 0; i < this.size; i++) {
      const slot = this.heap[i];
      this.heapPos[slot] = -1;
      this.callbacks[slot] = undefined;
    }
    this.size = 0;
    while (state.events.some((e) => e.slot >= this.cap)) this.grow();
    this.t = state.time;
    this.seq = state.seq;
    this.ticksPerInstruction = state.ticksPerInstruction;
    const used = new Set<number>();
    for (const e of state.events) {
      used.add(e.slot);
      this.times[e.slot] = e.time;
      this.seqs[e.slot] = e.seq;
      this.datas[e.slot] = e.data;
      this.callbacks[e.slot] = e.callback;
      const pos = this.size++;
      this.heap[pos] = e.slot;
      this.heapPos[e.slot] = pos;
      this.siftUp(pos);
    }
    this.freeCount = 0;
    for (let s = this.cap - 1; s >= 0; s--) if (!used.has(s)) this.free[this.freeCount++] = s;
    this.due = this.size === 0 ? Infinity : this.times[this.heap[0]];
  }
}
