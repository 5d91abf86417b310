/* global process, console */
// Decoder throughput: decodes per second on a realistic mixed instruction stream.
//
//   pnpm --filter @latelaunch/x86-isa build && pnpm --filter @latelaunch/x86-isa bench
//
// The stream (>= 64 KiB per mode) is built from weighted instruction encodings typical of
// compiled and hand-written system code (moves with every addressing form, ALU, compares and
// branches, calls/returns, pushes/pops, string and system instructions), picked with a seeded
// generator, so every run decodes the same bytes. Each pass decodes every instruction of the
// stream in order into one reusable DecodedInstruction; the figure is the best of several
// timed rounds after a warm-up. Wall-clock timing is fine here: this is a benchmark.
import 'reflect-metadata'; // @latelaunch/kernel (imported by the package) uses tsyringe
import { DecodedInstruction, decode, Status } from '../dist/index.js';

/** [weight, hex] pairs per mode. */
const MIX = {
  64: [
    [10, '48 8b 45 f8'], [8, '48 89 c7'], [6, '8b 44 24 08'], [5, '48 8b 05 78 56 34 12'], [5, '48 89 44 24 10'],
    [4, '4c 8b 4c c8 10'], [3, '0f b6 07'], [3, '48 63 c2'], [4, '48 8d 44 24 20'], [3, '48 8d 3d 00 10 00 00'],
    [5, '48 83 c4 08'], [4, '48 01 d0'], [3, '31 c0'], [3, '48 85 c0'], [4, '83 f8 05'], [3, '48 39 c8'],
    [6, '74 10'], [5, '75 f0'], [3, '0f 84 00 01 00 00'], [3, 'eb 0e'], [4, 'e8 00 10 00 00'], [3, 'c3'],
    [4, '55'], [4, '5d'], [3, '41 54'], [3, '41 5c'], [2, 'ff d0'], [2, 'ff 24 c5 00 10 00 00'],
    [2, 'c7 45 fc 00 00 00 00'], [2, '48 c7 c0 ff ff ff ff'], [1, '48 b8 88 77 66 55 44 33 22 11'],
    [2, 'c1 e0 04'], [2, '48 d3 e8'], [1, '48 0f af c1'], [1, '0f 94 c0'], [1, '48 0f 44 c1'], [1, 'f3 48 ab'],
    [1, 'f3 a4'], [1, '66 89 07'], [1, '88 07'], [1, 'f0 48 0f b1 0f'], [1, '0f a2'], [1, '0f 01 f8'],
    [1, '0f 22 d8'], [1, '0f 20 c0'], [1, '0f 30'], [1, 'fa'], [1, 'fb'], [1, '0f 1f 44 00 00'], [1, '90'],
    [1, '64 48 8b 04 25 28 00 00 00'], [1, '0f b9 80 34 12 4c 4c'], [1, '0f 78 c8'], [1, '0f 01 c2'],
  ],
  32: [
    [10, '8b 45 f8'], [8, '89 c7'], [6, '8b 44 24 08'], [5, 'a1 78 56 34 12'], [5, '89 44 24 10'],
    [4, '8b 4c c8 10'], [3, '0f b6 07'], [4, '8d 44 24 20'], [5, '83 c4 08'], [4, '01 d0'], [3, '31 c0'],
    [3, '85 c0'], [4, '83 f8 05'], [3, '39 c8'], [6, '74 10'], [5, '75 f0'], [3, '0f 84 00 01 00 00'],
    [3, 'eb 0e'], [4, 'e8 00 10 00 00'], [3, 'c3'], [4, '55'], [4, '5d'], [3, '50'], [3, '58'], [2, 'ff d0'],
    [2, 'c7 45 fc 00 00 00 00'], [2, 'c1 e0 04'], [1, '0f af c1'], [1, '0f 94 c0'], [1, 'f3 ab'], [1, 'f3 a4'],
    [1, '66 89 07'], [1, '88 07'], [1, 'f0 0f b1 0f'], [1, '0f a2'], [1, '0f 22 d8'], [1, '0f 01 15 00 10 00 00'],
    [1, 'ea 00 10 00 00 08 00'], [1, 'e4 60'], [1, 'ee'], [1, 'cd 80'], [1, 'cf'], [1, '90'],
  ],
  16: [
    [10, '8b 46 fe'], [8, '89 c7'], [6, '8b 07'], [5, 'a1 34 12'], [4, '8d 76 02'], [5, '83 c4 02'], [4, '01 d0'],
    [3, '31 c0'], [3, '85 c0'], [4, '3c 05'], [6, '74 10'], [5, '75 f0'], [3, 'eb 0e'], [4, 'e8 00 10'], [3, 'c3'],
    [4, '50'], [4, '58'], [3, '1e'], [3, '1f'], [2, 'b8 00 10'], [2, '8e d8'], [2, 'cd 10'], [2, 'ac'],
    [2, 'aa'], [1, 'f3 a5'], [1, '66 67 8b 03'], [1, 'ea 00 7c 00 00'], [1, '0f 01 16 00 10'], [1, 'fa'],
    [1, 'e6 80'], [1, '0f 20 c0'], [1, '66 0f 22 c0'], [1, 'f4'],
  ],
};

function hex(s) {
  return s.split(' ').map((x) => parseInt(x, 16));
}

/** xorshift32: deterministic stream construction. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

function buildStream(mode, minBytes) {
  const items = MIX[mode].map(([w, h]) => [w, hex(h)]);
  const total = items.reduce((a, [w]) => a + w, 0);
  const next = rng(0x5eed + mode);
  const bytes = [];
  let count = 0;
  while (bytes.length < minBytes) {
    let r = next() % total;
    let k = 0;
    while (r >= items[k][0]) r -= items[k++][0];
    bytes.push(...items[k][1]);
    count++;
  }
  return { buf: Uint8Array.from(bytes), count };
}

function pass(buf, mode, insn) {
  let off = 0;
  let n = 0;
  const end = buf.length;
  while (off < end) {
    off += decode(buf, off, mode, insn);
    n++;
  }
  return n;
}

const STREAM_BYTES = 64 * 1024;
const insn = new DecodedInstruction();
const results = [];
for (const mode of [64, 32, 16]) {
  const { buf, count } = buildStream(mode, STREAM_BYTES);
  // sanity: every instruction decodes OK and the walk finds exactly the instructions placed
  let off = 0;
  let n = 0;
  while (off < buf.length) {
    off += decode(buf, off, mode, insn);
    if (insn.status !== Status.OK) throw new Error(`mode ${mode}: bad instruction at ${off}`);
    n++;
  }
  if (n !== count) throw new Error(`mode ${mode}: walked ${n} instructions, placed ${count}`);
  for (let i = 0; i < 200; i++) pass(buf, mode, insn); // warm-up
  let best = 0;
  for (let round = 0; round < 7; round++) {
    const passes = 150;
    const t0 = process.hrtime.bigint();
    let decoded = 0;
    for (let i = 0; i < passes; i++) decoded += pass(buf, mode, insn);
    const t1 = process.hrtime.bigint();
    const rate = decoded / (Number(t1 - t0) / 1e9);
    if (rate > best) best = rate;
  }
  results.push({ mode, bytes: buf.length, instructions: count, avgLength: (buf.length / count).toFixed(2), decodesPerSecond: Math.round(best) });
}
for (const r of results) {
  console.log(
    `${r.mode}-bit: ${(r.decodesPerSecond / 1e6).toFixed(1)} M decodes/s ` +
      `(stream ${r.bytes} bytes, ${r.instructions} instructions, avg ${r.avgLength} bytes)`,
  );
}
