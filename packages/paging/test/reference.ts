/**
 * Reference models for the property tests, written from the SDM text in a deliberately different
 * style from the implementation: BigInt arithmetic, recursion, exceptions for EPT faults, no typed
 * arrays, no TLB.
 */
import type { TestMemory } from './helpers.js';

export const bit = (n: number) => 1n << BigInt(n);
/** Bits lo..hi inclusive (empty when hi < lo). */
export const span = (lo: number, hi: number) => (hi < lo ? 0n : ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo));

/** Loads/ORs little-endian 4- or 8-byte values in a TestMemory through its pages (not through read32/write32). */
export function load(m: TestMemory, addr: bigint, size: 4 | 8): bigint {
  const page = m.pages.get(Number(addr >> 12n));
  if (!page) return 0n;
  const off = Number(addr & 0xfffn);
  return size === 8 ? page.getBigUint64(off, true) : BigInt(page.getUint32(off, true));
}
export function orInto(m: TestMemory, addr: bigint, size: 4 | 8, bits: bigint): void {
  const v = load(m, addr, size) | bits;
  if (size === 8) m.write64(Number(addr), v);
  else m.write32(Number(addr), Number(v));
}

export type RefMode = 'legacy32' | 'pae' | 'ia32e4' | 'ia32e5';
export interface RefControl {
  mode: RefMode;
  M: number;
  pse: boolean;
  nxe: boolean;
  wp: boolean;
  smep: boolean;
  smap: boolean;
  gbPages: boolean;
  cr3: bigint;
  pdptes: bigint[];
  /** Guest paging under EPT: every guest-physical address (entries and the final one) goes through EPT. */
  ept?: { eptp: bigint; o: EptRefOptions };
}
export interface RefAccess {
  linear: bigint; // 64-bit two's complement pattern
  kind: 'r' | 'w' | 'x';
  cpl: number;
  implicit: boolean;
  ac: boolean;
  stack: boolean;
}
export type RefOutcome = { ok: true; physical: bigint } | { ok: false; fault: number; code: number; gpa?: bigint };

/** Thrown inside the reference walk when an EPT translation fails. */
class EptFault {
  constructor(readonly outcome: Exclude<EptOutcome, { fault: 0 }>) {}
}

function eptOrThrow(m: TestMemory, ept: NonNullable<RefControl['ept']>, gpa: bigint, kind: 'r' | 'w' | 'x', structure: boolean, extra: number): bigint {
  const r = refEpt(m, ept.eptp, gpa, kind, structure, false, extra, ept.o);
  if (r.fault !== 0) throw new EptFault(r);
  return r.physical;
}

function eptFaultOutcome(e: unknown): RefOutcome {
  if (!(e instanceof EptFault)) throw e;
  const o = e.outcome;
  see(o.fault === -1 ? 'nested:ept-violation' : 'nested:ept-misconfig');
  return { ok: false, fault: o.fault, code: o.fault === -1 ? o.qualification : 0, gpa: o.physical };
}

/** What the reference saw, per mode and outcome class (checked below so the generator cannot silently degrade). */
export const coverage = new Map<string, number>();
export const see = (what: string) => coverage.set(what, (coverage.get(what) ?? 0) + 1);

export interface Level {
  shift: number;
  bits: number;
  size: 4 | 8;
  /** 'top' (PML5/PML4), 'pdpt', 'pd', 'pt' */
  kind: 'top' | 'pdpt' | 'pd' | 'pt';
}
export function geometry(mode: RefMode): Level[] {
  if (mode === 'legacy32') {
    return [
      { shift: 22, bits: 10, size: 4, kind: 'pd' },
      { shift: 12, bits: 10, size: 4, kind: 'pt' },
    ];
  }
  const lower: Level[] = [
    { shift: 30, bits: 9, size: 8, kind: 'pdpt' },
    { shift: 21, bits: 9, size: 8, kind: 'pd' },
    { shift: 12, bits: 9, size: 8, kind: 'pt' },
  ];
  if (mode === 'pae') return lower.slice(1); // the PDPT is the register file
  const top: Level[] = [{ shift: 39, bits: 9, size: 8, kind: 'top' }];
  if (mode === 'ia32e5') top.unshift({ shift: 48, bits: 9, size: 8, kind: 'top' });
  return [...top, ...lower];
}

/** Are the PAE PDPTEs at CR3 loadable? (SDM 4.4.1: a present PDPTE with bits 2:1, 8:5 or 63:M set is invalid.) */
export function refPdptes(m: TestMemory, cr3: bigint, M: number, ept?: RefControl['ept']): bigint[] | null | RefOutcome {
  const base = cr3 & 0xffffffe0n;
  const out: bigint[] = [];
  for (let i = 0n; i < 4n; i++) {
    let at = base + i * 8n;
    if (ept) {
      try {
        at = eptOrThrow(m, ept, at, 'r', false, 0); // PDPTE loads are reads, with no linear address
      } catch (e) {
        return eptFaultOutcome(e);
      }
    }
    const e = load(m, at, 8);
    if ((e & 1n) === 1n && (e & (span(1, 2) | span(5, 8) | span(M, 63))) !== 0n) return null;
    out.push(e);
  }
  return out;
}

export function refTranslate(m: TestMemory, c: RefControl, a: RefAccess): RefOutcome {
  try {
    return refTranslateInner(m, c, a);
  } catch (e) {
    return eptFaultOutcome(e);
  }
}

function refTranslateInner(m: TestMemory, c: RefControl, a: RefAccess): RefOutcome {
  const is64 = c.mode === 'ia32e4' || c.mode === 'ia32e5';
  let lin = a.linear;
  if (is64) {
    const width = c.mode === 'ia32e5' ? 57 : 48;
    const upper = lin >> BigInt(width - 1);
    if (upper !== 0n && upper !== (1n << BigInt(65 - width)) - 1n) {
      see(`${c.mode}:non-canonical`);
      return { ok: false, fault: a.stack ? 12 : 13, code: 0 };
    }
  } else lin &= 0xffffffffn;

  const user = a.cpl === 3 && !a.implicit;
  let code = 0;
  if (a.kind === 'w') code += 2;
  if (user) code += 4;
  if (a.kind === 'x' && (c.smep || (c.mode !== 'legacy32' && c.nxe))) code += 16;

  const levels = geometry(c.mode);
  /** Entries used: guest-physical address, host address (they differ only under EPT), size. */
  const used: { addr: bigint; host: bigint; size: 4 | 8 }[] = [];
  const LINEAR_VALID = 0x80;

  const reservedBits = (e: bigint, L: Level): bigint => {
    const ps = (e & 0x80n) !== 0n;
    if (c.mode === 'legacy32') {
      if (L.kind === 'pd' && ps && c.pse) return bit(21) | span(13 + Math.min(c.M, 40) - 32, 20);
      return 0n;
    }
    let r = c.nxe ? 0n : bit(63);
    r |= c.mode === 'pae' ? span(c.M, 62) : span(c.M, 51);
    if (L.kind === 'top') r |= bit(7);
    if (L.kind === 'pdpt' && ps) r |= c.gbPages ? span(13, 29) : bit(7);
    if (L.kind === 'pd' && ps) r |= span(13, 20);
    return r;
  };

  const finish = (base: bigint, pageBits: number, rw: boolean, us: boolean, xd: boolean): RefOutcome => {
    let allowed: boolean;
    if (user) {
      allowed = us && (a.kind === 'r' || (a.kind === 'w' && rw) || (a.kind === 'x' && !xd));
    } else if (a.kind === 'x') {
      allowed = !xd && !(us && c.smep);
    } else {
      const smapBlocks = us && c.smap && !(a.ac && !a.implicit);
      const wpBlocks = a.kind === 'w' && c.wp && !rw;
      allowed = !smapBlocks && !wpBlocks;
    }
    if (!allowed) {
      see(`${c.mode}:protection`);
      return { ok: false, fault: 14, code: code + 1 };
    }
    used.forEach((u, k) => {
      const bits = 0x20n | (a.kind === 'w' && k === used.length - 1 ? 0x40n : 0n);
      if ((load(m, u.host, u.size) & bits) === bits) return;
      // Under EPT, setting a guest A/D flag is a write to guest-physical memory.
      const host = c.ept ? eptOrThrow(m, c.ept, u.addr, 'w', false, LINEAR_VALID) : u.addr;
      orInto(m, host, u.size, bits);
    });
    const gpa = base + (lin & ((1n << BigInt(pageBits)) - 1n));
    if (!c.ept) {
      see(`${c.mode}:ok-${pageBits}`);
      return { ok: true, physical: gpa };
    }
    const advanced = (us ? 0x200 : 0) | (rw ? 0x400 : 0) | (xd ? 0x800 : 0);
    const physical = eptOrThrow(m, c.ept, gpa, a.kind, false, LINEAR_VALID | 0x100 | advanced);
    see('nested:ok');
    return { ok: true, physical };
  };

  const descend = (depth: number, table: bigint, rw: boolean, us: boolean, xd: boolean): RefOutcome => {
    const L = levels[depth];
    const index = (lin >> BigInt(L.shift)) & ((1n << BigInt(L.bits)) - 1n);
    const addr = table + index * BigInt(L.size);
    const host = c.ept ? eptOrThrow(m, c.ept, addr, 'r', true, LINEAR_VALID) : addr;
    const e = load(m, host, L.size);
    if ((e & 1n) === 0n) {
      see(`${c.mode}:not-present`);
      return { ok: false, fault: 14, code };
    }
    if ((e & reservedBits(e, L)) !== 0n) {
      see(`${c.mode}:reserved`);
      return { ok: false, fault: 14, code: code + 1 + 8 };
    }
    used.push({ addr, host, size: L.size });
    rw = rw && (e & 2n) !== 0n;
    us = us && (e & 4n) !== 0n;
    xd = xd || (c.mode !== 'legacy32' && c.nxe && e >> 63n === 1n);
    const ps = (e & 0x80n) !== 0n;
    if (c.mode === 'legacy32') {
      if (L.kind === 'pd' && ps && c.pse) return finish((e & 0xffc00000n) | (((e >> 13n) & 0xffn) << 32n), 22, rw, us, xd);
      if (L.kind === 'pt') return finish(e & 0xfffff000n, 12, rw, us, xd);
      return descend(depth + 1, e & 0xfffff000n, rw, us, xd);
    }
    if (L.kind === 'pdpt' && ps) return finish(e & span(30, 51), 30, rw, us, xd);
    if (L.kind === 'pd' && ps) return finish(e & span(21, 51), 21, rw, us, xd);
    if (L.kind === 'pt') return finish(e & span(12, 51), 12, rw, us, xd);
    return descend(depth + 1, e & span(12, 51), rw, us, xd);
  };

  if (c.mode === 'pae') {
    const pdpte = c.pdptes[Number(lin >> 30n)];
    if ((pdpte & 1n) === 0n) return { ok: false, fault: 14, code };
    return descend(0, pdpte & span(12, 51), true, true, false);
  }
  const root = c.mode === 'legacy32' ? c.cr3 & 0xfffff000n : c.cr3 & span(12, 51);
  return descend(0, root, true, true, false);
}

export interface EptRefOptions {
  M: number;
  executeOnly: boolean;
  gbPages: boolean;
}
export type EptOutcome =
  | { fault: 0; physical: bigint; memoryType: number; ignorePat: boolean; pageShift: number; permissions: number; dirty: boolean }
  | { fault: -1; qualification: number; physical: bigint }
  | { fault: -2; physical: bigint };

export function refEpt(m: TestMemory, eptp: bigint, gpa: bigint, kind: 'r' | 'w' | 'x', structure: boolean, probe: boolean, extra: number, o: EptRefOptions): EptOutcome {
  const levels = ((eptp >> 3n) & 7n) === 4n ? 5 : 4;
  const ad = (eptp & 0x40n) !== 0n;
  const asWrite = kind === 'w' || (structure && ad);
  const accessBits = structure && ad ? 3 : kind === 'r' ? 1 : kind === 'w' ? 2 : 4;
  const need = kind === 'x' ? 4 : asWrite ? 2 : 1;
  const used: bigint[] = [];
  const violation = (perm: number): EptOutcome => {
    see(perm === 0 ? 'ept:violation-not-present' : 'ept:violation-permission');
    return { fault: -1, qualification: accessBits | (perm << 3) | extra, physical: gpa };
  };
  const misconfig = (why: string): EptOutcome => {
    see(`ept:misconfig-${why}`);
    return { fault: -2, physical: gpa };
  };

  const walk = (level: number, table: bigint, perm: number): EptOutcome => {
    const addr = table + ((gpa >> BigInt(12 + 9 * (level - 1))) & 511n) * 8n;
    const e = load(m, addr, 8);
    const rwx = Number(e & 7n);
    const p = perm & rwx;
    if (rwx === 0) return violation(p);
    if ((rwx & 2) !== 0 && (rwx & 1) === 0) return misconfig('write-without-read');
    if (rwx === 4 && !o.executeOnly) return misconfig('execute-only');
    if ((e & span(o.M, 51)) !== 0n) return misconfig('maxphyaddr');
    const large = (level === 2 || level === 3) && (e & 0x80n) !== 0n;
    if (level >= 4 && (e & span(3, 7)) !== 0n) return misconfig('reserved');
    if ((level === 2 || level === 3) && !large && (e & span(3, 6)) !== 0n) return misconfig('reserved');
    if (large && level === 3 && (!o.gbPages || (e & span(12, 29)) !== 0n)) return misconfig('reserved');
    if (large && level === 2 && (e & span(12, 20)) !== 0n) return misconfig('reserved');
    used.push(addr);
    if (level > 1 && !large) return walk(level - 1, e & span(12, 51), p);
    const memoryType = Number((e >> 3n) & 7n);
    if ([2, 3, 7].includes(memoryType)) return misconfig('memory-type');
    if ((p & need) === 0) return violation(p);
    const shift = level === 1 ? 12 : level === 2 ? 21 : 30;
    see(`ept:ok-${shift}`);
    let dirty = !ad || (e & 0x200n) !== 0n;
    if (ad && !probe) {
      for (const u of used) orInto(m, u, 8, 0x100n);
      if (asWrite) {
        orInto(m, addr, 8, 0x200n);
        dirty = true;
      }
    }
    return { fault: 0, physical: (e & span(shift, 51)) | (gpa & span(0, shift - 1)), memoryType, ignorePat: (e & 0x40n) !== 0n, pageShift: shift, permissions: p, dirty };
  };
  return walk(levels, eptp & span(12, 51), 7);
}

