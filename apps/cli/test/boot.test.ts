// `latelaunch boot` on a multiboot kernel built with gcc/binutils at test time (missing tools are a
// failure, not a skip).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/main.js';
import { buildGccKernel, expectedSerial, KERNEL_EXIT_STATUS } from '../../../packages/machine-x86/test/multiboot-gcc-kernel.js';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

let kernel: ReturnType<typeof buildGccKernel>;
beforeAll(() => {
  kernel = buildGccKernel();
});
afterAll(() => kernel?.cleanup());

const serial = (cmdline: string, mib = 128) => expectedSerial(cmdline).replace('MEMUPPER', String((mib - 1) * 1024));

describe('latelaunch boot', () => {
  it('runs the kernel: serial on stdout, exit code = QEMU debug-exit status', async () => {
    const r = await run('boot', '--kernel', kernel.path, '--append', 'root=/dev/null');
    expect(r.err).toBe('');
    expect(r.out).toBe(serial('root=/dev/null'));
    expect(r.code).toBe(KERNEL_EXIT_STATUS);
  });

  it('exit 0 when the kernel halts every processor', async () => {
    const r = await run('boot', '--kernel', kernel.path, '--append', 'halt', '--cpus', '2', '--memory', '64');
    expect(r.code).toBe(0);
    expect(r.out).toBe(serial('halt', 64));
  });

  it('exit 124 when the instruction budget runs out', async () => {
    const r = await run('boot', '--kernel', kernel.path, '--max-instructions', '1000');
    expect(r.code).toBe(124);
    expect(r.out.length).toBeLessThan(serial('').length);
    expect(serial('').startsWith(r.out)).toBe(true);
  });

  it('--json prints one object (schema of apps/cli/README.md) and nothing else', async () => {
    const r = await run('boot', '--kernel', kernel.path, '--cpus', '3', '--json');
    expect(r.code).toBe(KERNEL_EXIT_STATUS);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual([
      'kernel', 'cmdline', 'cpus', 'memoryMiB', 'format', 'entry', 'warnings', 'exitReason', 'status', 'debugExitValue', 'exitCode', 'instructions', 'virtualTimeNs', 'serial', 'processors',
    ]);
    expect(j).toMatchObject({ kernel: kernel.path, cmdline: '', cpus: 3, memoryMiB: 128, format: 'elf', exitReason: 'debug-exit', status: KERNEL_EXIT_STATUS, debugExitValue: 29, exitCode: KERNEL_EXIT_STATUS });
    expect(j.serial).toBe(serial(''));
    expect(j.instructions).toBeGreaterThan(10_000);
    expect(j.virtualTimeNs).toBe(j.instructions);
    expect(j.processors.map((p: { activity: string }) => p.activity)).toEqual(['active', 'wait-for-sipi', 'wait-for-sipi']);
    expect(j.processors[0]).toMatchObject({ index: 0, mode: 'protected32', paging: false, interruptsEnabled: false });
  });

  it('--serial FILE and --trace FILE', async () => {
    const s = join(kernel.dir, 'serial.txt');
    const t = join(kernel.dir, 'trace.jsonl');
    const r = await run('boot', '--kernel', kernel.path, '--serial', s, '--trace', t);
    expect(r.code).toBe(KERNEL_EXIT_STATUS);
    expect(r.out).toBe('');
    expect(readFileSync(s, 'utf8')).toBe(serial(''));
    const lines = readFileSync(t, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.kind)).toEqual(['system.composed', 'machine.run', 'machine.run']);
    expect(lines[2].data).toMatchObject({ phase: 'stop', reason: 'debug-exit', status: KERNEL_EXIT_STATUS });
    // Deterministic: the same command gives the same trace.
    await run('boot', '--kernel', kernel.path, '--serial', s, '--trace', t + '2');
    expect(readFileSync(t + '2', 'utf8')).toBe(readFileSync(t, 'utf8'));
  });

  const bad: [string, (dir: string) => string, RegExp][] = [
    ['a missing file', (d) => join(d, 'nope.elf'), /^latelaunch boot: cannot read kernel '.*nope\.elf': ENOENT\n$/],
    ['not an ELF', (d) => (writeFileSync(join(d, 'junk.bin'), 'this is not a kernel'), join(d, 'junk.bin')), /^latelaunch boot: .*junk\.bin: .+\n$/],
    ['an ELF without a multiboot header', (d) => join(d, 'kernel.o'), /^latelaunch boot: .*kernel\.o: .*multiboot.*\n$/i],
  ];
  for (const [what, file, msg] of bad) {
    it(`${what} → exit 2 with one stderr line`, async () => {
      const r = await run('boot', '--kernel', file(kernel.dir));
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(msg);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    });
  }

  it('the built binary exits with the kernel status', () => {
    const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
    const r = spawnSync(process.execPath, [bin, 'boot', '--kernel', kernel.path], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(KERNEL_EXIT_STATUS);
    expect(r.stdout).toBe(serial(''));
  });
});
