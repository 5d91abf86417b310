/**
 * A reference interrupt fabric (the "APIC bus"): resolves the destination of every message and
 * delivers it to the attached local APICs, synchronously and deterministically. The machine can
 * use it as is for its physical APICs; a hypervisor can use one per VM for the virtual APICs (or
 * implement `ApicIpiBus` itself, e.g. to intercept IPIs).
 */
import { InvalidArgumentError, type ApicInterruptMessage, type ApicIpiBus, type TraceBus } from '@latelaunch/kernel';
import { DeliveryMode, Shorthand } from './constants.js';
import type { LocalApic } from './local-apic.js';

declare module '@latelaunch/kernel' {
  interface TraceEventMap {
    /** An interrupt message routed by an `ApicFabric` (`source` -1 = I/O APIC/external; `targets` = APIC IDs reached). */
    'apic.ipi': { source: number; mode: number; vector: number; destination: number; destMode: 'physical' | 'logical'; shorthand: number; targets: number[] };
    /** A level-triggered EOI broadcast. */
    'apic.eoi': { source: number; vector: number };
  }
}

export interface ApicFabricOptions {
  /** Emits `apic.ipi` / `apic.eoi` records when given. */
  readonly trace?: TraceBus | null;
}

/** What lowest-priority arbitration needs to know about a candidate. */
export interface LowestPriorityCandidate {
  readonly apicId: number;
  readonly ppr: number;
  isFocusFor(vector: number): boolean;
}

/**
 * Lowest-priority arbitration (SDM 11.6.2.4), deterministic:
 * 1. a focus processor — focus checking enabled (SVR bit 9 = 0) and `vector` already in its IRR or
 *    ISR — wins (the one with the lowest APIC ID if several);
 * 2. otherwise the candidate with the lowest processor priority (PPR, all 8 bits);
 * 3. ties go to the lowest APIC ID.
 * Returns undefined for no candidates.
 */
export function chooseLowestPriority<T extends LowestPriorityCandidate>(candidates: readonly T[], vector: number): T | undefined {
  let best: T | undefined;
  let bestFocus = false;
  for (const c of candidates) {
    const focus = c.isFocusFor(vector);
    if (best === undefined) {
      best = c;
      bestFocus = focus;
      continue;
    }
    if (focus !== bestFocus) {
      if (focus) {
        best = c;
        bestFocus = true;
      }
      continue;
    }
    if (!focus && c.ppr !== best.ppr) {
      if (c.ppr < best.ppr) best = c;
      continue;
    }
    if (c.apicId < best.apicId) best = c;
  }
  return best;
}

/** A message and the APIC IDs that received it (for tests and traces). */
export interface FabricDelivery {
  readonly message: ApicInterruptMessage;
  readonly targets: readonly number[];
}

export class ApicFabric implements ApicIpiBus {
  private readonly apics: LocalApic[] = [];
  private readonly eoiListeners: ((vector: number, sourceApicId: number) => void)[] = [];
  /** Called after each message is routed (tests, tools). */
  onDelivery: ((d: FabricDelivery) => void) | null = null;
  private readonly trace: TraceBus | null;

  constructor(options: ApicFabricOptions = {}) {
    this.trace = options.trace ?? null;
  }

  /** Attaches an APIC (order of attachment = order of delivery for broadcasts). */
  attach(apic: LocalApic): void {
    if (this.apics.includes(apic)) throw new InvalidArgumentError('ApicFabric.attach: APIC already attached');
    this.apics.push(apic);
  }

  detach(apic: LocalApic): void {
    const i = this.apics.indexOf(apic);
    if (i >= 0) this.apics.splice(i, 1);
  }

  get attached(): readonly LocalApic[] {
    return this.apics;
  }

  /** Registers an EOI-broadcast listener (I/O APICs: clears remote IRR of level-triggered entries). */
  onEoi(listener: (vector: number, sourceApicId: number) => void): void {
    this.eoiListeners.push(listener);
  }

  eoiBroadcast(vector: number, sourceApicId: number): void {
    if (this.trace?.wants('apic.eoi')) this.trace.emit('apic.eoi', { source: sourceApicId, vector });
    for (const l of this.eoiListeners) l(vector, sourceApicId);
  }

  /** The APICs a message reaches before lowest-priority arbitration. */
  resolve(m: ApicInterruptMessage): LocalApic[] {
    switch (m.shorthand) {
      case Shorthand.SELF:
        return this.apics.filter((a) => a.apicId === m.sourceApicId && a.mode !== 'disabled');
      case Shorthand.ALL_INCLUDING_SELF:
        return this.apics.filter((a) => a.mode !== 'disabled');
      case Shorthand.ALL_EXCLUDING_SELF:
        return this.apics.filter((a) => a.apicId !== m.sourceApicId && a.mode !== 'disabled');
      default:
        return this.apics.filter((a) => a.matchesDestination(m.destination, m.destMode, m.x2apic));
    }
  }

  /** Routes an IPI (or an I/O APIC message, `sourceApicId` -1) and delivers it synchronously. */
  sendIpi(m: ApicInterruptMessage): void {
    let targets = this.resolve(m);
    if (m.mode === DeliveryMode.LOWEST_PRIORITY && targets.length > 1) {
      const enabled = targets.filter((a) => a.softwareEnabled);
      const chosen = chooseLowestPriority(enabled.length > 0 ? enabled : targets, m.vector);
      targets = chosen ? [chosen] : [];
    }
    if (this.trace?.wants('apic.ipi')) {
      this.trace.emit('apic.ipi', {
        source: m.sourceApicId,
        mode: m.mode,
        vector: m.vector,
        destination: m.destination,
        destMode: m.destMode,
        shorthand: m.shorthand,
        targets: targets.map((t) => t.apicId),
      });
    }
    for (const t of targets) t.deliver(m);
    this.onDelivery?.({ message: m, targets: targets.map((t) => t.apicId) });
  }
}
