// A verification that fails makes `run --no-hypervisor` exit 1 (still printing the whole result):
// the root OS's inventory is tampered with between the run and the checks.
import 'reflect-metadata';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/main.js';

vi.mock('@latelaunch/root-os', async (importOriginal) => {
  const real = await importOriginal<typeof import('@latelaunch/root-os')>();
  return {
    ...real,
    createRootOsMachine: (o: Parameters<typeof real.createRootOsMachine>[0]) => {
      const rm = real.createRootOsMachine(o);
      return {
        ...rm,
        inventory: () => {
          const inv = rm.inventory();
          return { ...inv, slit: inv.slit?.map((row) => row.map((d) => (d === 10 ? 10 : d + 1))) ?? null, processors: inv.processors.slice(1) };
        },
      };
    },
  };
});

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe('run --no-hypervisor with a failing verification', () => {
  it('--json: exit 1, passed false, the failing checks marked with expected and actual', async () => {
    const r = await run('run', '--no-hypervisor', '--json');
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
    const j = JSON.parse(r.out);
    expect(j.passed).toBe(false);
    expect(j.exitCode).toBe(1);
    const failed = j.verifications.filter((v: { passed: boolean }) => !v.passed);
    expect(failed.map((v: { name: string }) => v.name).filter((n: string) => !n.startsWith("smp."))).toEqual(['inventory.processors', 'inventory.slit']);
    expect(failed[1]).toMatchObject({ expected: [[10, 20], [20, 10]], actual: [[10, 21], [21, 10]] });
  });

  it('human output: FAIL lines and the count', async () => {
    const r = await run('run', '--no-hypervisor', '--root-mode', 'protected');
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL inventory.slit');
    expect(r.out).toContain('2 verification(s) failed');
  });
});
