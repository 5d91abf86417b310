// `latelaunch run --no-hypervisor`: the root OS alone on the QEMU-compatible platform; its
// inventory, processor status, serial log and verifications, in human and --json form.
import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { main } from '../src/main.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..', '..');
const corpus = (m: string): string => {
  const dir = resolve(repoRoot, '..', 'shared', 'acpi-corpus', m);
  if (!existsSync(dir)) throw new Error(`ACPI corpus machine missing: ${dir}`);
  return dir;
};

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const int = z.number().int().nonnegative();
const range = z.strictObject({ base: int, length: int, type: int });
/** The `run --no-hypervisor --json` schema of apps/cli/README.md. */
const RunJson = z.strictObject({
  command: z.literal('run'),
  hypervisor: z.literal(false),
  machine: z.strictObject({
    rootMode: z.enum(['long', 'pae', 'protected']),
    platform: z.literal('qemu'),
    processors: int,
    memoryMiB: int,
    numaNodes: int.nullable(),
    acpiDir: z.string().nullable(),
    firmwareSource: z.enum(['config', 'acpi-tables']),
    seed: int,
    smp: z.boolean(),
  }),
  budget: z.strictObject({ maxInstructions: int, chunkInstructions: int, marginInstructions: int }),
  run: z.strictObject({
    stopReason: z.enum(['all-halted', 'debug-exit', 'budget-exhausted', 'port-write', 'idle']),
    instructions: int,
    virtualTimeNs: int,
    phases: z.array(z.enum(['boot', 'discovered', 'running'])),
    phaseReached: z.string().nullable(),
    expectedPhase: z.enum(['discovered', 'running']),
    smp: z.looseObject({ valid: z.boolean(), expected: int, online: int, timedOut: int, phase: z.string() }).nullable(),
  }),
  inventory: z
    .looseObject({
      processors: z.array(z.looseObject({ apicId: int, uid: int, enabled: z.boolean(), hotplug: z.boolean(), x2apicEntry: z.boolean(), onlineCapable: z.boolean(), node: int.nullable() })),
      ioApics: z.array(z.strictObject({ id: int, address: int, gsiBase: int })),
      nodes: z.array(z.looseObject({ domain: int, hasCpus: z.boolean(), hasMemory: z.boolean(), empty: z.boolean(), cpuCount: int, memoryBytes: int, hotPluggableMemoryBytes: int })),
      memoryAffinity: z.array(z.looseObject({ base: int, length: int, domain: int, enabled: z.boolean(), hotPluggable: z.boolean() })),
      ramRanges: z.array(range),
      slit: z.array(z.array(int)).nullable(),
      pmTimer: z.strictObject({ port: int, width: int }).nullable(),
      anomalies: z.array(z.string()),
      cpuid: z.looseObject({ vendor: z.string(), family: int, model: int, features: z.record(z.string(), z.boolean()), maxPhysAddr: int.nullable() }),
      apic: z.looseObject({ msr: z.string().regex(/^0x[0-9a-f]+$/), base: int, mode: z.string() }),
    })
    .nullable(),
  processors: z.array(
    z.looseObject({
      index: int,
      apicId: int.nullable(),
      activity: z.enum(['active', 'hlt', 'shutdown', 'wait-for-sipi']),
      mode: z.string(),
      paging: z.boolean(),
      interruptsEnabled: z.boolean(),
      rip: int,
      retired: int,
      os: z.unknown(),
    }),
  ),
  serial: z.string(),
  verifications: z.array(z.strictObject({ name: z.string(), passed: z.boolean(), expected: z.unknown(), actual: z.unknown() })),
  passed: z.boolean(),
  exitCode: z.union([z.literal(0), z.literal(1)]),
});
type RunJson = z.infer<typeof RunJson>;

async function runJson(...argv: string[]): Promise<{ code: number; j: RunJson; err: string }> {
  const r = await run('run', '--no-hypervisor', '--json', ...argv);
  const j = RunJson.parse(JSON.parse(r.out));
  return { code: r.code, j, err: r.err };
}

function expectAllPassed(j: RunJson): void {
  expect(j.verifications.filter((v) => !v.passed)).toEqual([]);
  expect(j.passed).toBe(true);
  expect(j.exitCode).toBe(0);
}

/** With an SMP root-os: `running` reached, every processor online with its workload; without: `discovered`, APs untouched. */
function expectSmpConsistent(j: RunJson): void {
  if (j.machine.smp) {
    expect(j.run.expectedPhase).toBe('running');
    expect(j.serial).toContain('\nrunning\n');
    expect(j.run.smp).toMatchObject({ valid: true, online: j.machine.processors, timedOut: 0, phase: 'running' });
    for (const p of j.processors) expect(p.os, `cpu ${p.index}`).toMatchObject({ apicId: p.apicId, online: true });
  } else {
    expect(j.run.expectedPhase).toBe('discovered');
    expect(j.run.smp).toBeNull();
    expect(j.processors.slice(1).every((p) => p.activity === 'wait-for-sipi')).toBe(true);
  }
}

const CONFIG_CHECKS = ['console.phase', 'console.noFatal', 'inventory.readable', 'inventory.rsdp', 'inventory.ramRanges', 'inventory.localApicAddress', 'inventory.processors', 'inventory.ioApics', 'inventory.numa', 'inventory.slit', 'inventory.pmTimer'];

describe('latelaunch run --no-hypervisor', () => {
  for (const mode of ['long', 'pae', 'protected'] as const) {
    it(`default machine in ${mode} mode: --json schema valid, every verification true, exit 0`, async () => {
      const { code, j, err } = await runJson('--root-mode', mode);
      expect(err).toBe('');
      expect(code).toBe(0);
      expectAllPassed(j);
      expect(j.verifications.map((v) => v.name)).toEqual(j.machine.smp ? [...CONFIG_CHECKS.slice(0, 3), 'smp.processors', 'smp.workload', ...CONFIG_CHECKS.slice(3)] : CONFIG_CHECKS);
      expect(j.machine).toEqual({ rootMode: mode, platform: 'qemu', processors: 4, memoryMiB: 1024, numaNodes: 2, acpiDir: null, firmwareSource: 'config', seed: 0, smp: j.machine.smp });
      expectSmpConsistent(j);
      expect(j.run.phases).toEqual(expect.arrayContaining(['boot', 'discovered']));
      expect(j.serial).toMatch(/^boot\n(.*\n)*discovered\n/);
      expect(j.run.instructions).toBeLessThanOrEqual(j.budget.maxInstructions);
      const inv = j.inventory!;
      expect(inv.processors.map((p) => [p.apicId, p.enabled, p.node])).toEqual([
        [0, true, 0],
        [1, true, 0],
        [2, true, 1],
        [3, true, 1],
      ]);
      expect(inv.nodes.map((n) => [n.domain, n.cpuCount])).toEqual([
        [0, 2],
        [1, 2],
      ]);
      expect(inv.slit).toEqual([
        [10, 20],
        [20, 10],
      ]);
      expect(inv.pmTimer).toEqual({ port: 0x608, width: 24 });
      expect(inv.ioApics).toHaveLength(1);
      expect(inv.cpuid.vendor).toBe('GenuineIntel');
      expect(j.processors).toHaveLength(4);
      expect(j.processors[0]).toMatchObject({ index: 0, apicId: 0, paging: true, mode: mode === 'long' ? 'long64' : 'protected32' });
    });
  }

  it('--cpus 2 --numa-nodes 1 --memory 256', async () => {
    const { code, j } = await runJson('--cpus', '2', '--numa-nodes', '1', '--memory', '256', '--seed', '7');
    expect(code).toBe(0);
    expectAllPassed(j);
    expect(j.machine).toMatchObject({ processors: 2, memoryMiB: 256, numaNodes: 1, seed: 7 });
    expect(j.inventory!.processors.map((p) => p.apicId)).toEqual([0, 1]);
    expect(j.inventory!.nodes.map((n) => [n.domain, n.cpuCount])).toEqual([[0, 2]]);
    expect(j.inventory!.slit).toEqual([[10]]);
    expect(j.processors).toHaveLength(2);
    expectSmpConsistent(j);
  });

  it('human output lists inventory, processors, serial log and verifications', async () => {
    const r = await run('run', '--no-hypervisor', '--root-mode', 'pae', '--cpus', '3', '--numa-nodes', '3', '--memory', '96');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const s of ['inventory:', 'processors (3 present, 0 hot-pluggable):', 'NUMA nodes: 3', 'SLIT: [10 20 20] [20 10 20] [20 20 10]', 'PM timer: port 0x608, 24 bits', 'RAM (E820):', 'CPUID: GenuineIntel', '\nprocessors:\n', '\nserial:\n  | boot\n', '  | discovered\n', '\nverifications:\n', 'all verifications passed']) {
      expect(r.out).toContain(s);
    }
    expect(r.out).toMatch(/\n {2}cpu 0 \(apic 0\): (hlt|active), protected32, paging on/);
    expect(r.out).not.toContain('FAIL');
  });

  it.each([
    ['supermicro-x8dtt-CE92DF29C87C', 'long'],
    ['dell-poweredge-r820-E5985CCBA349', 'protected'],
  ] as const)('--acpi %s (%s): verified against the tables parsed by @latelaunch/acpi', async (machine, mode) => {
    const dir = corpus(machine);
    const { code, j, err } = await runJson('--acpi', dir, '--root-mode', mode);
    expect(err).toBe('');
    expect(code).toBe(0);
    expectAllPassed(j);
    // And against the corpus' own independently decoded expectations.
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')).summary;
    // SMP with the machine's real APIC IDs: one processor per enabled MADT processor, all online.
    expect(j.machine).toMatchObject({ acpiDir: dir, firmwareSource: 'acpi-tables', processors: expected.enabledApicIds.length });
    expectSmpConsistent(j);
    if (j.machine.smp) {
      expect(j.verifications.map((v) => v.name)).toContain('smp.processors');
      expect(j.processors.map((p) => p.apicId)).toEqual(expected.enabledApicIds);
      expect(j.serial).toContain(`\nsmp-up ${expected.enabledApicIds.length}/${expected.enabledApicIds.length}\nrunning\n`);
      const smp = j.verifications.find((v) => v.name === 'smp.processors')!;
      expect((smp.actual as { onlineApicIds: number[] }).onlineApicIds).toEqual([...expected.enabledApicIds].sort((a: number, b: number) => a - b));
    }
    expect(j.verifications.map((v) => v.name)).toContain('inventory.memoryAffinity');
    const inv = j.inventory!;
    expect(inv.processors.filter((p) => p.enabled).map((p) => p.apicId)).toEqual(expected.enabledApicIds);
    expect(inv.processors.filter((p) => p.hotplug).map((p) => p.apicId)).toEqual(expected.hotplugCandidateApicIds);
    expect(inv.ioApics).toHaveLength(expected.ioApicCount);
    expect(inv.nodes.filter((n) => !n.empty).map((n) => n.domain)).toEqual(expected.numa.populatedDomains);
    expect(inv.nodes.filter((n) => n.empty).map((n) => n.domain)).toEqual(expected.numa.emptyDomains);
    expect(inv.pmTimer?.port ?? null).toBe(expected.pmTimer?.address ?? null);
    expect(inv.anomalies.length).toBeGreaterThan(0); // real firmware: anomalies reported, never fatal
    expect(j.serial).toMatch(/^boot\n(.*\n)*discovered\n/);
    expect(j.serial).toMatch(/^boot\n(firmware: .*\n)+/);
  });

  const bad: [string, (d: string) => string[], RegExp][] = [
    ['a missing --acpi directory', (d) => ['--acpi', join(d, 'nope')], /^latelaunch run: --acpi '.*nope': cannot read the directory: ENOENT\n$/],
    ['an --acpi directory without tables', (d) => ['--acpi', d], /^latelaunch run: --acpi '.*': no ACPI tables \(\*\.dat\) in the directory\n$/],
    ['an --acpi directory that is not ACPI', (d) => (writeFileSync(join(d, 'junk.dat'), 'not an ACPI table at all'), ['--acpi', d]), /^latelaunch run: --acpi '.*': (not ACPI tables|no MADT).*\n$/],
    ['an --acpi file', (d) => (writeFileSync(join(d, 'f'), ''), ['--acpi', join(d, 'f')]), /^latelaunch run: --acpi '.*f': not a directory\n$/],
    ['--cpus with --acpi', () => ['--acpi', corpus('supermicro-x8dtt-CE92DF29C87C'), '--cpus', '2'], /^latelaunch run: --cpus conflicts with --acpi/],
  ];
  for (const [what, args, msg] of bad) {
    it(`${what} → exit 2, one stderr line, nothing on stdout`, async () => {
      const d = mkdtempSync(join(tmpdir(), 'll-run-'));
      try {
        const r = await run('run', '--no-hypervisor', '--json', ...args(d));
        expect(r.code).toBe(2);
        expect(r.out).toBe('');
        expect(r.err).toMatch(msg);
        expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    });
  }

  it('run without --no-hypervisor still exits 2 "not implemented yet"', async () => {
    const r = await run('run', '--json');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^latelaunch run: not implemented yet \(.+\)\n$/);
  });

  it('--trace FILE: JSON lines, identical for the same seed', async () => {
    const d = mkdtempSync(join(tmpdir(), 'll-run-'));
    try {
      const t1 = join(d, 'a.jsonl');
      const t2 = join(d, 'b.jsonl');
      expect((await run('run', '--no-hypervisor', '--seed', '42', '--trace', t1, '--json')).code).toBe(0);
      expect((await run('run', '--no-hypervisor', '--seed', '42', '--trace', t2)).code).toBe(0);
      const text = readFileSync(t1, 'utf8');
      const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string });
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.map((l) => l.kind)).toContain('machine.run');
      expect(readFileSync(t2, 'utf8')).toBe(text);
      const bad = await run('run', '--no-hypervisor', '--trace', join(d, 'no', 'such', 'dir', 't.jsonl'));
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/^latelaunch run: cannot write trace '.*': ENOENT\n$/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('the built binary dist/bin.js', () => {
    const bin = join(here, '..', 'dist', 'bin.js');
    const out = execFileSync(process.execPath, [bin, 'run', '--no-hypervisor', '--json', '--cpus', '2', '--root-mode', 'protected'], { encoding: 'utf8' });
    expectAllPassed(RunJson.parse(JSON.parse(out)));
    const bad = spawnSync(process.execPath, [bin, 'run', '--no-hypervisor', '--acpi', join(tmpdir(), 'll-no-such-acpi-dir')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
