import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { main } from '../src/main.js';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe('latelaunch list', () => {
  it('prints plugins, variants and strategies as JSON', async () => {
    const r = await run('list', '--json');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(['plugins', 'variants', 'strategies']);
    const ids = j.plugins.map((p: { id: string }) => p.id);
    expect(ids).toContain('kernel.trace-jsonl');
    expect(ids).toContain('transition-nmi-strategies.idt-swap');
    for (const p of j.plugins) {
      expect(p.id).toMatch(/^[a-z0-9-]+\.[a-z0-9.-]+$/);
      expect(p.package).toMatch(/^@latelaunch\//);
      expect(['ready', 'partial']).toContain(p.status);
      expect(Array.isArray(p.provides)).toBe(true);
    }
    expect(j.strategies.map((s: { name: string }) => s.name)).toEqual(['none', 'idt-swap', 'temp-idt']);
    expect(j.variants.map((v: { name: string }) => v.name)).toEqual(['minimal', 'partitioning', 'time-sliced']);
    // Honest: nothing claims to be runnable before its extension points have implementations.
    for (const v of j.variants) expect(v.runnable).toBe(v.unfilledExtensionPoints.length === 0);
  });

  it('lists one kind, and rejects unknown kinds listing the known ones', async () => {
    const r = await run('list', 'strategies', '--json');
    expect(Object.keys(JSON.parse(r.out))).toEqual(['strategies']);
    const bad = await run('list', 'bogus');
    expect(bad.code).toBe(2);
    expect(bad.err).toBe("latelaunch list: unknown list 'bogus'; known: plugins, variants, strategies\n");
    const text = await run('list');
    expect(text.out).toMatch(/^plugins:\n/);
    expect(text.out).toContain('\nstrategies:\n');
  });
});

describe('argument contract (DESIGN §6)', () => {
  const cases: [string[], RegExp][] = [
    [['run', '--cpus', 'x'], /^latelaunch: option '--cpus <n>' argument 'x' is invalid\. expected an integer, got 'x'\n$/],
    [['run', '--cpus', '0'], /expected an integer in \[1, 256\]/],
    [['run', '--root-mode', 'real'], /Allowed choices are long, pae, protected/],
    [['run', '--nmi-strategy', 'nope'], /^latelaunch run: unknown NMI strategy 'nope'; known: idt-swap, none, temp-idt\n$/],
    [['run', '--variant', 'huge'], /^latelaunch run: unknown variant 'huge'; known: minimal, partitioning, time-sliced\n$/],
    [['run', '--frobnicate'], /^latelaunch: unknown option '--frobnicate'/],
    [['boot'], /^latelaunch: required option '--kernel <file>' not specified\n$/],
    [['campaign'], /required option '--nmi-strategy <name>'/],
    [['campaign', '--nmi-strategy', 'all', '--inject', 'smi'], /Allowed choices are nmi, intr/],
    [['frob'], /^latelaunch: unknown command 'frob'/],
  ];
  for (const [argv, msg] of cases) {
    it(`${argv.join(' ')} → exit 2 with one stderr line`, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(msg);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    });
  }

  it('commands not built yet exit 2 saying so, never a fake result', async () => {
    for (const argv of [['run'], ['run', '--json'], ['campaign', '--nmi-strategy', 'all'], ['bench']]) {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^latelaunch \w+: not implemented yet \(.+\)\n$/);
    }
  });

  it('--help works everywhere and exits 0', async () => {
    for (const argv of [['--help'], ['run', '--help'], ['boot', '--help'], ['campaign', '--help'], ['list', '--help'], ['bench', '--help']]) {
      const r = await run(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: latelaunch/);
    }
    const run_ = await run('run', '--help');
    for (const flag of ['--no-hypervisor', '--variant', '--cpus', '--memory', '--numa-nodes', '--root-mode', '--nmi-strategy', '--guests', '--acpi', '--seed', '--json', '--trace']) {
      expect(run_.out).toContain(flag);
    }
  });
});

describe('built binary', () => {
  it('dist/bin.js exits with the code main() returns', () => {
    const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
    const ok = execFileSync(process.execPath, [bin, 'list', 'plugins', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(ok).plugins.length).toBeGreaterThan(0);
    const bad = spawnSync(process.execPath, [bin, 'run', '--cpus', 'many'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
