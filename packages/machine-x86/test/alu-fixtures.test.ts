// Replays every differential ALU fixture case (fixtures/alu, recorded on real hardware; see
// FIXTURES.md) on the interpreter: 32-bit cases in flat 32-bit protected mode (paging off), 64-bit
// cases in 64-bit mode (IA-32e, identity-mapping test translator). Compares every output register
// (minus undefined bits), every architecturally defined flag, RIP, and that no other register changed.
import { describe, expect, it } from 'vitest';
import { compareAluResult, loadAluCases, type AluCase } from '../scripts/alu-fixtures/load.mjs';
import { Vec } from '../src/cpu/state.js';
import { makeCpu, type TestCpu } from './helpers/cpu.js';

const REGS64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const REGS32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const CODE = 0x10000;
const STACK = 0x8000;

function runCase(t: TestCpu, c: AluCase): string[] {
  const { p, s, mem } = t;
  const names = c.mode === 64 ? REGS64 : REGS32;
  s.lo.fill(0);
  s.hi.fill(0);
  s.lo[4] = STACK;
  for (const [name, v] of Object.entries(c.in)) {
    const r = names.indexOf(name);
    if (r < 0) throw new Error(`unknown register ${name}`);
    s.lo[r] = Number(BigInt.asIntN(32, v));
    s.hi[r] = c.mode === 64 ? Number(BigInt.asIntN(32, v >> 32n)) : 0;
  }
  const rip = c.rip !== undefined ? Number(c.rip) : CODE;
  mem.writeBytes(rip, c.bytes);
  s.rip = rip;
  p.setRflags(c.flagsIn);
  const v = p.tryStep();
  if (v >= 0) {
    return compareAluResult(c, { exception: v === Vec.DE ? '#DE' : `vector ${v}` });
  }
  const problems: string[] = [];
  if (s.rip !== rip + c.bytes.length) problems.push(`rip: expected ${rip + c.bytes.length}, got ${s.rip}`);
  const regs: Record<string, bigint> = {};
  for (const name of Object.keys(c.out ?? {})) {
    const r = names.indexOf(name);
    regs[name] = c.mode === 64 ? s.getReg64(r) : BigInt(s.lo[r] >>> 0);
  }
  // Every register the case does not list must be unchanged.
  for (let r = 0; r < names.length; r++) {
    if (c.out && names[r] in c.out) continue;
    const want = r === 4 ? BigInt(STACK) : (c.in[names[r]] ?? 0n);
    const got = c.mode === 64 ? s.getReg64(r) : BigInt(s.lo[r] >>> 0);
    if (got !== want) problems.push(`${names[r]} changed: 0x${got.toString(16)}`);
  }
  return problems.concat(compareAluResult(c, { regs, flags: p.getRflags() }));
}

function fmt(c: AluCase, problems: string[]): string {
  const ins = Object.entries(c.in)
    .map(([k, v]) => `${k}=0x${v.toString(16)}`)
    .join(' ');
  return `${c.id} \`${c.asm}\` [${Buffer.from(c.bytes).toString('hex')}] in: ${ins} flags=0x${c.flagsIn.toString(16)} → ${problems.join('; ')}`;
}

describe.each([32, 64] as const)('ALU fixtures, %i-bit', (mode) => {
  it('every case matches the hardware on all defined state', () => {
    const cases = loadAluCases({ mode });
    expect(cases.length).toBeGreaterThan(10000);
    const t = makeCpu(mode);
    const byFamily = new Map<string, { total: number; failed: number }>();
    const failures: string[] = [];
    for (const c of cases) {
      const problems = runCase(t, c);
      let st = byFamily.get(c.family);
      if (!st) byFamily.set(c.family, (st = { total: 0, failed: 0 }));
      st.total++;
      if (problems.length) {
        st.failed++;
        if (failures.length < 40 && (process.env.ALU_FAMILY === undefined || c.family === process.env.ALU_FAMILY)) failures.push(fmt(c, problems));
      }
    }
    const bad = [...byFamily].filter(([, st]) => st.failed > 0).map(([f, st]) => `${f}: ${st.failed}/${st.total}`);
    if (bad.length) console.log(`families with failures (${mode}-bit): ${bad.join(', ')}\n${failures.join('\n')}`);
    expect(bad).toEqual([]);
  });
});
