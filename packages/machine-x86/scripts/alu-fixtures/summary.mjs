// Statistics of what the host CPU did with architecturally undefined flags / destinations.
// Written to fixtures/alu/host-undefined-flags.json by generate.mjs. For every (mode, family,
// flag) where the flag is undefined in at least one case it counts how often the host's value
// matched a few hypotheses: unchanged from the input, always clear, always set, computed from
// the result register (SF = sign, ZF = zero, PF = even parity of the low byte), and for OF of
// shifts/rotates a few textbook formulas.
import { FLAG_NAMES, STATUS, CF } from './flags.mjs';

const bit = (v, n) => Number((v >> BigInt(n)) & 1n);

function sub(regs, reg, name) {
  const { slot, shift, width } = reg[name];
  return (regs.get(slot) >> BigInt(shift)) & ((1n << BigInt(width)) - 1n);
}

function parityEven(v) {
  let x = Number(v & 0xffn);
  let p = 1;
  while (x) {
    p ^= x & 1;
    x >>= 1;
  }
  return p;
}

const OF_FORMULAS = {
  'msb(res) xor cf': (res, orig, size, cfOut) => bit(res, size - 1) ^ cfOut,
  'msb(res) xor msb-1(res)': (res, orig, size) => bit(res, size - 1) ^ bit(res, size - 2),
  'msb(orig)': (res, orig, size) => bit(orig, size - 1),
  'msb(orig) xor msb(res)': (res, orig, size) => bit(res, size - 1) ^ bit(orig, size - 1),
};

export function summarize(records, { host, REG }) {
  const flags = {};
  const dest = {};
  for (const mode of Object.keys(records)) {
    flags[mode] = {};
    dest[mode] = {};
    for (const { c, r } of records[mode]) {
      if (r.status !== 0) continue;
      const undefinedFlags = STATUS & ~c.definedFlags;
      const fam = (flags[mode][c.family] ??= {});
      for (const [name, b] of FLAG_NAMES) {
        if (!(undefinedFlags & b)) continue;
        const s = (fam[name] ??= { cases: 0, unchanged: 0, clear: 0, set: 0 });
        const out = r.flagsOut & b ? 1 : 0;
        s.cases++;
        if (out === (c.flags & b ? 1 : 0)) s.unchanged++;
        if (out === 0) s.clear++;
        else s.set++;
        if (c.res && (name === 'SF' || name === 'ZF' || name === 'PF')) {
          const w = REG[c.res].width;
          const res = sub(r.regsOut, REG, c.res);
          const expect = name === 'SF' ? bit(res, w - 1) : name === 'ZF' ? Number(res === 0n) : parityEven(res);
          s.fromResult = (s.fromResult ?? 0) + (out === expect ? 1 : 0);
        }
        if (name === 'OF' && c.res && /^(shl|shr|sar|rol|ror|rcl|rcr|shld|shrd)$/.test(c.family)) {
          const w = REG[c.res].width;
          const res = sub(r.regsOut, REG, c.res);
          const orig = sub(c.regs, REG, c.res);
          const cfOut = r.flagsOut & CF ? 1 : 0;
          s.formulas ??= {};
          for (const [f, fn] of Object.entries(OF_FORMULAS)) s.formulas[f] = (s.formulas[f] ?? 0) + (out === fn(res, orig, w, cfOut) ? 1 : 0);
        }
      }
      if (c.undefinedBits) {
        const d = (dest[mode][c.family] ??= { cases: 0, unchanged: 0, examples: [] });
        d.cases++;
        let same = true;
        for (const [slot, m] of c.undefinedBits) if (((c.regs.get(slot) ^ r.regsOut.get(slot)) & m) !== 0n) same = false;
        if (same) d.unchanged++;
        if (d.examples.length < 6 && (!same || d.examples.length < 3)) {
          const [slot] = [...c.undefinedBits.keys()];
          d.examples.push({ asm: c.asm, in: '0x' + c.regs.get(slot).toString(16), out: '0x' + r.regsOut.get(slot).toString(16), unchanged: same });
        }
      }
    }
  }
  return {
    note:
      'What the generating host produced for flags the SDM leaves undefined (counts over the fixture cases). ' +
      'unchanged = output equals the input flag; fromResult = SF/ZF/PF computed from the result register; ' +
      'formulas = OF of shifts/rotates matched against textbook formulas. Informational only: never compare these flags.',
    host,
    undefinedFlags: flags,
    undefinedDestination: dest,
  };
}
