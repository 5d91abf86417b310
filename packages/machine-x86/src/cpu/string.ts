/**
 * String instructions: MOVS, STOS, LODS, CMPS, SCAS with REP/REPE/REPNE, and the data movement of
 * INS/OUTS (their I/O-permission check is SYSTEM's `checkIoPermission`).
 *
 * rSI/rDI/rCX are used at the address size (16/32/64). The source segment is `insn.segment` (DS or
 * the override), the destination is always ES (base ignored in 64-bit mode). Each iteration commits
 * its index/count updates after its memory accesses succeeded, so a fault in iteration k leaves
 * the registers as the SDM describes for an interrupted REP string instruction (RIP at the
 * instruction). A REP instruction runs at most {@link REP_CHUNK} iterations per execution; if the
 * count is not exhausted RIP is set back to the instruction so that pending events are recognised
 * between chunks (each chunk counts as one retired instruction).
 */
import { Prefix } from '@latelaunch/x86-isa';
import type { CachedInsn, Processor } from './processor.js';
import { Flag, Seg } from './state.js';
import { checkIoPermission } from './system.js';

export const REP_CHUNK = 4096;
const TWO32 = 4294967296;

function getIdx(p: Processor, r: number, a: number): number {
  if (a === 32) return p.lo[r] >>> 0;
  if (a === 16) return p.lo[r] & 0xffff;
  return p.hi[r] * TWO32 + (p.lo[r] >>> 0);
}

function setIdx(p: Processor, r: number, a: number, v: number): void {
  if (a === 32) {
    p.lo[r] = v;
    p.hi[r] = 0;
  } else if (a === 16) p.lo[r] = (p.lo[r] & ~0xffff) | (v & 0xffff);
  else {
    const t = 18446744073709551616;
    if (v >= 9223372036854775808) v -= t;
    else if (v < -9223372036854775808) v += t;
    p.lo[r] = v | 0;
    p.hi[r] = Math.floor(v / TWO32) | 0;
  }
}

function strLinear(p: Processor, seg: number, off: number, n: number, write: boolean, a: number): number {
  if (p.is64) return p.linear64(seg, a === 64 ? off : off >>> 0);
  return p.segLinear(seg, a === 16 ? off & 0xffff : off >>> 0, n, write);
}

function isRep(i: CachedInsn): boolean {
  return (i.prefixes & (Prefix.REP | Prefix.REPNE)) !== 0;
}

function step(p: Processor, n: number): number {
  return p.state.rflags & Flag.DF ? -n : n;
}

/** Ends a REP chunk: if the count is not exhausted, re-execute the instruction next time. */
function repContinue(p: Processor, a: number): void {
  if (getIdx(p, 1, a) !== 0) p.state.rip = p.instrStart;
}

export function movs(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const n = size >>> 3;
  const a = i.addrSize;
  const d = step(p, n);
  const rep = isRep(i);
  let count = rep ? getIdx(p, 1, a) : 1;
  if (count === 0) return;
  for (let k = 0; ; k++) {
    const si = getIdx(p, 6, a);
    const di = getIdx(p, 7, a);
    const src = strLinear(p, i.segment, si, n, false, a);
    const dst = strLinear(p, Seg.ES, di, n, true, a);
    const v = p.readLin(src, size);
    p.writeLin(dst, size, v, p.rhi);
    setIdx(p, 6, a, si + d);
    setIdx(p, 7, a, di + d);
    if (!rep) return;
    setIdx(p, 1, a, --count);
    if (count === 0) return;
    if (k + 1 >= REP_CHUNK) break;
  }
  repContinue(p, a);
}

export function stos(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const n = size >>> 3;
  const a = i.addrSize;
  const d = step(p, n);
  const rep = isRep(i);
  let count = rep ? getIdx(p, 1, a) : 1;
  if (count === 0) return;
  const v = p.getReg(0, size);
  const vh = p.rhi;
  for (let k = 0; ; k++) {
    const di = getIdx(p, 7, a);
    p.writeLin(strLinear(p, Seg.ES, di, n, true, a), size, v, vh);
    setIdx(p, 7, a, di + d);
    if (!rep) return;
    setIdx(p, 1, a, --count);
    if (count === 0) return;
    if (k + 1 >= REP_CHUNK) break;
  }
  repContinue(p, a);
}

export function lods(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const n = size >>> 3;
  const a = i.addrSize;
  const d = step(p, n);
  const rep = isRep(i);
  let count = rep ? getIdx(p, 1, a) : 1;
  if (count === 0) return;
  for (let k = 0; ; k++) {
    const si = getIdx(p, 6, a);
    const v = p.readLin(strLinear(p, i.segment, si, n, false, a), size);
    p.setReg(0, size, v, p.rhi);
    setIdx(p, 6, a, si + d);
    if (!rep) return;
    setIdx(p, 1, a, --count);
    if (count === 0) return;
    if (k + 1 >= REP_CHUNK) break;
  }
  repContinue(p, a);
}

/** Records CMP a, b flags for the string compare instructions. */
function cmpFlags(p: Processor, size: number, a: number, aHi: number, b: number, bHi: number): void {
  if (size === 64) {
    const l = (a >>> 0) - (b >>> 0);
    p.flagsSub64(a, aHi, b, bHi, l | 0, (aHi - bHi - (l < 0 ? 1 : 0)) | 0, 0);
  } else p.flagsSub(size, a, b, (a - b) | 0, 0);
}

export function cmps(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const n = size >>> 3;
  const a = i.addrSize;
  const d = step(p, n);
  const rep = isRep(i);
  const repne = (i.prefixes & Prefix.REPNE) !== 0;
  let count = rep ? getIdx(p, 1, a) : 1;
  if (count === 0) return;
  for (let k = 0; ; k++) {
    const si = getIdx(p, 6, a);
    const di = getIdx(p, 7, a);
    const x = p.readLin(strLinear(p, i.segment, si, n, false, a), size);
    const xh = p.rhi;
    const y = p.readLin(strLinear(p, Seg.ES, di, n, false, a), size);
    const yh = p.rhi;
    cmpFlags(p, size, x, xh, y, yh);
    setIdx(p, 6, a, si + d);
    setIdx(p, 7, a, di + d);
    if (!rep) return;
    setIdx(p, 1, a, --count);
    if (count === 0) return;
    if (p.getZF() === repne) return; // REPE stops on ZF=0, REPNE on ZF=1
    if (k + 1 >= REP_CHUNK) break;
  }
  repContinue(p, a);
}

export function scas(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const n = size >>> 3;
  const a = i.addrSize;
  const d = step(p, n);
  const rep = isRep(i);
  const repne = (i.prefixes & Prefix.REPNE) !== 0;
  let count = rep ? getIdx(p, 1, a) : 1;
  if (count === 0) return;
  const acc = p.getReg(0, size);
  const accHi = p.rhi;
  for (let k = 0; ; k++) {
    const di = getIdx(p, 7, a);
    const y = p.readLin(strLinear(p, Seg.ES, di, n, false, a), size);
    cmpFlags(p, size, acc, accHi, y, p.rhi);
    setIdx(p, 7, a, di + d);
    if (!rep) return;
    setIdx(p, 1, a, --count);
    if (count === 0) return;
    if (p.getZF() === repne) return;
    if (k + 1 >= REP_CHUNK) break;
  }
  repContinue(p, a);
}

export function ins(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const n = size >>> 3;
  const a = i.addrSize;
  const port = p.lo[2] & 0xffff;
  checkIoPermission(p, port, n);
  if (p.vmxGuest !== null && p.vmxGuest.io(p, i, port, n)) return;
  const d = step(p, n);
  const rep = isRep(i);
  let count = rep ? getIdx(p, 1, a) : 1;
  if (count === 0) return;
  for (let k = 0; ; k++) {
    const di = getIdx(p, 7, a);
    const lin = strLinear(p, Seg.ES, di, n, true, a);
    p.probeWrite(lin, n); // fault before the port read has side effects
    const v = p.bus.portRead(port, n as 1 | 2 | 4, p.cpuIndex);
    p.writeLin(lin, size, v, 0);
    setIdx(p, 7, a, di + d);
    if (!rep) return;
    setIdx(p, 1, a, --count);
    if (count === 0) return;
    if (k + 1 >= REP_CHUNK || p.stopRequested) break;
  }
  repContinue(p, a);
}

export function outs(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const n = size >>> 3;
  const a = i.addrSize;
  const port = p.lo[2] & 0xffff;
  checkIoPermission(p, port, n);
  if (p.vmxGuest !== null && p.vmxGuest.io(p, i, port, n)) return;
  const d = step(p, n);
  const rep = isRep(i);
  let count = rep ? getIdx(p, 1, a) : 1;
  if (count === 0) return;
  for (let k = 0; ; k++) {
    const si = getIdx(p, 6, a);
    const v = p.readLin(strLinear(p, i.segment, si, n, false, a), size);
    p.bus.portWrite(port, n as 1 | 2 | 4, n === 4 ? v >>> 0 : v, p.cpuIndex);
    setIdx(p, 6, a, si + d);
    if (!rep) return;
    setIdx(p, 1, a, --count);
    if (count === 0) return;
    if (k + 1 >= REP_CHUNK || p.stopRequested) break;
  }
  repContinue(p, a);
}
