/* global process, console */
// Translation throughput of @latelaunch/paging (plain ESM over the built dist/).
//   pnpm --filter @latelaunch/paging build && pnpm --filter @latelaunch/paging bench
// Memory is a flat Int32Array (64 MiB) so that the figures measure translation, not memory.
import 'reflect-metadata';
import { Cr0, Cr4, Efer, PageAccess, createPagingControl, createTranslator } from '../dist/index.js';

class FlatMemory {
  constructor(bytes) {
    this.words = new Int32Array(bytes / 4);
  }
  read32(pa) {
    return this.words[pa / 4];
  }
  write32(pa, v) {
    this.words[pa / 4] = v;
  }
  read64(pa) {
    return (BigInt(this.words[pa / 4 + 1] >>> 0) << 32n) | BigInt(this.words[pa / 4] >>> 0);
  }
  write64(pa, v) {
    this.words[pa / 4] = Number(v & 0xffffffffn) | 0;
    this.words[pa / 4 + 1] = Number(v >> 32n) | 0;
  }
  read8() {
    throw new Error('unused');
  }
  read16() {
    throw new Error('unused');
  }
  write8() {
    throw new Error('unused');
  }
  write16() {
    throw new Error('unused');
  }
}

const PAGES = 512; // mapped 4 KiB pages (fits the 4096-entry TLB)
const LINEAR = 0x7f12_3440_0000; // somewhere in the low half, crosses no PT boundary

/** 4-level tables at `root` mapping PAGES pages at LINEAR → `data`, in memory at `base` + offset. */
function buildTables(mem, root, data, place = (a) => a) {
  let next = root + 0x1000;
  const alloc = () => ((next += 0x1000), next - 0x1000);
  const entry = (table, index) => place(table) + index * 8;
  const idx = (lin, level) => Number((BigInt(lin) >> BigInt(12 + 9 * (level - 1))) & 511n);
  for (let p = 0; p < PAGES; p++) {
    const lin = LINEAR + p * 4096;
    let table = root;
    for (let level = 4; level > 1; level--) {
      const ea = entry(table, idx(lin, level));
      let e = mem.read32(ea);
      if (e === 0) {
        e = alloc() | 0x27; // P, R/W, U/S, A
        mem.write32(ea, e);
      }
      table = e & ~0xfff;
    }
    mem.write32(entry(table, idx(lin, 1)), (data + p * 4096) | 0x67); // P, R/W, U/S, A, D
  }
}

/** EPT identity-plus-offset for guest-physical [0, 32 MiB) with 4 KiB pages. */
function buildEpt(mem, root, size, offset) {
  let next = root + 0x1000;
  const alloc = () => ((next += 0x1000), next - 0x1000);
  const idx = (gpa, level) => Math.floor(gpa / 2 ** (12 + 9 * (level - 1))) % 512;
  for (let gpa = 0; gpa < size; gpa += 4096) {
    let table = root;
    for (let level = 4; level > 1; level--) {
      const ea = table + idx(gpa, level) * 8;
      let e = mem.read32(ea);
      if (e === 0) {
        e = alloc() | 0x7;
        mem.write32(ea, e);
      }
      table = e & ~0xfff;
    }
    mem.write32(table + idx(gpa, 1) * 8, (gpa + offset) | 0x7 | (6 << 3));
  }
}

function enable(t, c) {
  c.cr0 = Cr0.PE | Cr0.PG | Cr0.WP;
  t.controlRegisterWritten('cr0', Cr0.PE);
}

let sink = 0;
function bench(name, n, fn, unit = 'translations') {
  sink += fn(Math.min(n, 200_000)); // warm-up
  sink += fn(Math.min(n, 200_000));
  const rounds = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    sink += fn(n);
    rounds.push(Number(process.hrtime.bigint() - t0) / n);
  }
  rounds.sort((a, b) => a - b);
  const ns = rounds[3];
  console.log(`${name.padEnd(48)} ${(1000 / ns).toFixed(2).padStart(8)} M ${unit}/s ${ns.toFixed(1).padStart(7)} ns each (median of 7 rounds; best ${rounds[0].toFixed(1)})`);
  return ns;
}

const out = { physical: 0, fault: 0, errorCode: 0 };

// 0. The loop alone (address computation + accumulation), to subtract from the TLB-hit figure.
bench('loop overhead (address arithmetic only)', 20_000_000, (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s += LINEAR + (((i * 0x9e5) & (PAGES - 1)) << 12) + (i & 0xff8) + (i & 1);
  return s;
});

// 1. TLB hits (4-level paging, user reads and writes over 512 cached pages).
{
  const mem = new FlatMemory(64 << 20);
  buildTables(mem, 0x10_0000, 0x100_0000);
  const c = createPagingControl({ cr3: 0x10_0000, cr4: Cr4.PAE, efer: Efer.LME | Efer.LMA | Efer.NXE });
  const t = createTranslator(c, mem);
  enable(t, c);
  c.cpl = 3;
  for (let p = 0; p < PAGES; p++) t.translate(LINEAR + p * 4096, PageAccess.WRITE, false, out);
  const walks = t.walks;
  bench('TLB hit (4-level, 512 pages)', 20_000_000, (n) => {
    let s = 0; // a local accumulator: a module-level one would allocate a HeapNumber per iteration
    for (let i = 0; i < n; i++) {
      t.translate(LINEAR + (((i * 0x9e5) & (PAGES - 1)) << 12) + (i & 0xff8), i & 1, false, out);
      s += out.physical;
    }
    return s;
  });
  if (t.walks !== walks) throw new Error(`TLB hit benchmark walked ${t.walks - walks} times`);
}

// 2. Full 4-level walks (TLB off: every translation reads 4 entries).
{
  const mem = new FlatMemory(64 << 20);
  buildTables(mem, 0x10_0000, 0x100_0000);
  const c = createPagingControl({ cr3: 0x10_0000, cr4: Cr4.PAE, efer: Efer.LME | Efer.LMA | Efer.NXE });
  const t = createTranslator(c, mem, { caching: false });
  enable(t, c);
  bench('full 4-level walk (TLB off)', 3_000_000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      t.translate(LINEAR + ((i & (PAGES - 1)) << 12), PageAccess.READ, false, out);
      s += out.physical;
    }
    return s;
  });
}

// 3. 4-level guest walk under 4-level EPT (TLB off: 4 × (4 + 1) + 4 = 24 memory references).
{
  const OFF = 0x200_0000;
  const mem = new FlatMemory(64 << 20);
  buildTables(mem, 0x10_0000, 0x100_0000, (a) => a + OFF); // guest tables: guest-physical pointers, stored at host = gpa + OFF
  buildEpt(mem, 0x380_0000, 32 << 20, OFF);
  const c = createPagingControl({ cr3: 0x10_0000, cr4: Cr4.PAE, efer: Efer.LME | Efer.LMA | Efer.NXE });
  const t = createTranslator(c, mem, { caching: false });
  enable(t, c);
  t.setVpid(1);
  t.setEpt(0x380_0000 | (3 << 3) | 6);
  t.translate(LINEAR, PageAccess.READ, false, out);
  if (out.fault !== 0 || out.physical !== 0x100_0000 + OFF) throw new Error(`nested setup broken: ${JSON.stringify(out)}`);
  bench('4-level guest walk under 4-level EPT (TLB off)', 1_000_000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      t.translate(LINEAR + ((i & (PAGES - 1)) << 12), PageAccess.READ, false, out);
      s += out.physical;
    }
    return s;
  });
}

// 4. MOV to CR3 (4-level, no PCID): the notification the processor makes on every address-space switch.
{
  const mem = new FlatMemory(64 << 20);
  buildTables(mem, 0x10_0000, 0x100_0000);
  const c = createPagingControl({ cr3: 0x10_0000, cr4: Cr4.PAE | Cr4.PGE, efer: Efer.LME | Efer.LMA | Efer.NXE });
  const t = createTranslator(c, mem);
  enable(t, c);
  bench('MOV to CR3 notification (4-level, PGE, no PCID)', 2_000_000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      c.cr3 = 0x10_0000;
      if (t.controlRegisterWritten('cr3', 0x10_0000)) s++;
    }
    return s;
  }, 'notifications');
}

if (sink === 0.5) console.log(sink);
