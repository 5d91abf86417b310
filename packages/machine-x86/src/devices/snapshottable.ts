/**
 * Something whose state a machine snapshot captures: memory, devices, the clock and (later) the
 * processors. A machine-level snapshot is the collection of every part's `saveState()`.
 *
 * Contract:
 * - `saveState()` returns an immutable value (frozen or never mutated afterwards) that captures the
 *   complete state; taking it must be cheap (thousands per run), so share structure rather than copy.
 * - `loadState(s)` accepts any value its own `saveState()` returned, any number of times and in any
 *   order, and throws `InvalidArgumentError` for anything else.
 * - States are in-process values (they may hold functions, typed arrays, shared pages); they are not
 *   a serialisation format.
 */
export interface Snapshottable {
  saveState(): unknown;
  loadState(state: unknown): void;
}
