/* global process, console, Buffer */
// Snapshot / restore / fork cost and in-page memory throughput of machine-x86's SparseMemory.
//
//   pnpm --filter @latelaunch/machine-x86 build && pnpm --filter @latelaunch/machine-x86 bench
//
// A 1 GiB PC machine memory (buildPcMemoryLayout(1024)) plus 4 stub processor states of 4 KiB,
// a UART and the clock, after 10 MiB of scattered writes, in two shapes:
//   pages: 2560 random pages written whole (10 MiB resident)
//   words: 2,621,440 random 32-bit writes over all of RAM (touches ~every page: ~1 GiB resident)
// Wall-clock timing is fine here: this is a benchmark, not machine code.
import 'reflect-metadata'; // tsyringe (used by the device classes) needs it, as in every entry point
import { Bus, SparseMemory, Uart16550, VirtualClock, buildPcMemoryLayout } from '../dist/index.js';

const MiB = 1 << 20;
const layout = buildPcMemoryLayout(1024);
const RAM_END = layout.lowMemoryEnd; // 1 GiB: everything is below the PCI hole
const FIRST_PAGE = MiB / 4096;
const PAGES = (RAM_END - MiB) / 4096;

function rng(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

function now() {
  return process.hrtime.bigint();
}
function us(t0, t1, n) {
  return Number(t1 - t0) / 1e3 / n;
}
/** Median over `runs` of the mean µs per call of `fn` over `n` calls. */
function measure(n, fn, runs = 5) {
  const results = [];
  for (let r = 0; r < runs; r++) {
    const t0 = now();
    for (let i = 0; i < n; i++) fn(i);
    results.push(us(t0, now(), n));
  }
  results.sort((a, b) => a - b);
  return results[runs >> 1];
}

function makeMachine(shape) {
  const memory = new SparseMemory({ ranges: layout.ranges });
  const next = rng(0x5eed);
  const dirtyPages = [];
  if (shape === 'pages') {
    const page = new Uint8Array(4096).map((_, i) => i);
    const seen = new Set();
    while (dirtyPages.length < (10 * MiB) / 4096) {
      const pfn = FIRST_PAGE + (next() % PAGES);
      if (seen.has(pfn)) continue;
      seen.add(pfn);
      dirtyPages.push(pfn);
      memory.writeBytes(pfn * 4096, page);
    }
  } else {
    for (let i = 0; i < (10 * MiB) / 4; i++) memory.write32(MiB + (next() % (RAM_END - MiB - 4)), i);
    for (let i = 0; i < 2560; i++) dirtyPages.push(FIRST_PAGE + (next() % PAGES));
  }
  const cpus = Array.from({ length: 4 }, (_, i) => new Uint8Array(4096).fill(i));
  const bus = new Bus(memory);
  const uart = new Uart16550();
  uart.attach(bus);
  for (const ch of Buffer.from('booting...\n')) bus.out8(0x3f8, ch);
  const clock = new VirtualClock();
  clock.schedule(1e9, () => {});
  const snapshot = () => ({ memory: memory.snapshot(), cpus: cpus.map((c) => c.slice()), uart: uart.saveState(), clock: clock.saveState() });
  const restore = (s) => {
    memory.restore(s.memory);
    cpus.forEach((c, i) => c.set(s.cpus[i]));
    uart.loadState(s.uart);
    clock.loadState(s.clock);
  };
  return { memory, dirtyPages, snapshot, restore, cpus, next };
}

function throughput(m) {
  const { memory, dirtyPages } = m;
  const pages = dirtyPages.slice(0, 1024).map((p) => p * 4096);
  // Make sure these pages are owned (no copy-on-write pending) before timing writes.
  for (const a of pages) memory.write32(a, 0);
  const N = pages.length * 1024;
  const rounds = 5;
  const time = (fn) => {
    const r = [];
    for (let k = 0; k < rounds; k++) {
      const t0 = now();
      fn();
      r.push(Number(now() - t0) / 1e9);
    }
    r.sort((a, b) => a - b);
    return N / r[rounds >> 1] / 1e6;
  };
  let sink = 0;
  const read32 = time(() => {
    for (const base of pages) for (let o = 0; o < 4096; o += 4) sink ^= memory.read32(base + o);
  });
  const write32 = time(() => {
    for (const base of pages) for (let o = 0; o < 4096; o += 4) memory.write32(base + o, o);
  });
  const pageRead = time(() => {
    for (const base of pages) {
      const p = memory.getPageForRead(base / 4096);
      for (let o = 0; o < 4096; o += 4) sink ^= (p[o] | (p[o + 1] << 8) | (p[o + 2] << 16) | (p[o + 3] << 24)) >>> 0;
    }
  });
  const pageWrite = time(() => {
    for (const base of pages) {
      const p = memory.getPageForWrite(base / 4096);
      for (let o = 0; o < 4096; o += 4) {
        p[o] = o;
        p[o + 1] = o >>> 8;
        p[o + 2] = o >>> 16;
        p[o + 3] = o >>> 24;
      }
    }
  });
  const unaligned = time(() => {
    for (const base of pages) for (let o = 1; o < 4093; o += 4) sink ^= memory.read32(base + o);
  });
  if (sink === 0.5) console.log(sink);
  return { read32, write32, pageRead, pageWrite, unaligned };
}

function snapshotCosts(m) {
  const { memory, snapshot, restore, dirtyPages, next } = m;
  const memSnap = measure(20000, () => memory.snapshot());
  const machSnap = measure(5000, () => snapshot());
  const s = memory.snapshot();
  const memRestore = measure(20000, () => memory.restore(s));
  const ms = snapshot();
  const machRestore = measure(5000, () => restore(ms));
  const forks = [];
  const fork = measure(5000, () => forks.push(memory.fork()));
  forks.length = 0;
  // A campaign step: snapshot, 16 scattered writes (copy-on-write of their pages and leaves), restore.
  const base = snapshot();
  const cycle = measure(2000, (i) => {
    restore(base);
    for (let k = 0; k < 16; k++) memory.write32(dirtyPages[(i * 16 + k) % dirtyPages.length] * 4096 + 8, i);
  });
  // Thousands of retained snapshots, 16 scattered writes apart.
  restore(base);
  const kept = [];
  const mem0 = process.memoryUsage();
  const t0 = now();
  for (let i = 0; i < 5000; i++) {
    kept.push(snapshot());
    for (let k = 0; k < 16; k++) memory.write32(dirtyPages[next() % dirtyPages.length] * 4096 + 16, i);
  }
  const keepUs = us(t0, now(), 5000);
  const mem1 = process.memoryUsage();
  const retainedKiB = (mem1.arrayBuffers - mem0.arrayBuffers + mem1.heapUsed - mem0.heapUsed) / 1024 / 5000;
  const restoreAny = measure(5000, (i) => restore(kept[(i * 7919) % kept.length]));
  return { memSnap, machSnap, memRestore, machRestore, fork, cycle, keepUs, restoreAny, retainedKiB };
}

const f = (x, d = 2) => x.toFixed(d).padStart(9);
console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
for (const shape of ['pages', 'words']) {
  const t0 = now();
  const m = makeMachine(shape);
  const setup = Number(now() - t0) / 1e9;
  console.log(`\n== 1 GiB machine, 10 MiB of scattered writes as ${shape === 'pages' ? '2560 whole pages' : '2.6 M random 32-bit writes'} (setup ${setup.toFixed(2)} s, ${m.memory.residentPages()} resident pages)`);
  const tp = throughput(m);
  console.log(`  in-page 32-bit read32()            ${f(tp.read32, 1)} M accesses/s`);
  console.log(`  in-page 32-bit write32()           ${f(tp.write32, 1)} M accesses/s`);
  console.log(`  unaligned in-page read32()         ${f(tp.unaligned, 1)} M accesses/s`);
  console.log(`  page array (getPageForRead) read   ${f(tp.pageRead, 1)} M accesses/s`);
  console.log(`  page array (getPageForWrite) write ${f(tp.pageWrite, 1)} M accesses/s`);
  const c = snapshotCosts(m);
  console.log(`  memory.snapshot()                  ${f(c.memSnap)} µs`);
  console.log(`  machine snapshot (mem+4 cpu+uart+clock) ${f(c.machSnap)} µs`);
  console.log(`  memory.restore()                   ${f(c.memRestore)} µs`);
  console.log(`  machine restore                    ${f(c.machRestore)} µs`);
  console.log(`  memory.fork()                      ${f(c.fork)} µs`);
  console.log(`  restore + 16 scattered writes      ${f(c.cycle)} µs per cycle (copy-on-write included)`);
  console.log(`  5000 kept machine snapshots, 16 scattered writes apart: ${c.keepUs.toFixed(1)} µs per snapshot+writes, ~${c.retainedKiB.toFixed(0)} KiB retained each; restoring any of them ${c.restoreAny.toFixed(2)} µs`);
}
