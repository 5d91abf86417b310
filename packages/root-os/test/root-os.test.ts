import 'reflect-metadata';
import { describe, expect, test } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, JsonLinesSink, TraceBus } from '@latelaunch/kernel';
import { findMultibootHeader, type FirmwareSource } from '@latelaunch/machine-x86';
import { runReadmeExample } from '../../../tooling/readme-example.ts';
import {
  buildRootOsImage,
  createRootOsMachine,
  INVENTORY_ADDRESS,
  InventoryFormatError,
  PFA_ADDRESS,
  PFA_BITMAP_ADDRESS,
  PFA_MAGIC,
  PFA_RESERVED_BELOW,
  PfaOffsets,
  readInventory,
  readSmpSummary,
  ROOT_OS_MODES,
  type Inventory,
  type RootOsMachine,
  type RootOsMode,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..', '..');
const corpusDir = resolve(repoRoot, '..', 'shared', 'acpi-corpus');

function boot(mode: RootOsMode, extra: Partial<Parameters<typeof createRootOsMachine>[0]> = {}): { rm: RootOsMachine; inv: Inventory } {
  const rm = createRootOsMachine({ mode, ...extra });
  const r = rm.run();
  expect(r.reason).toBe('all-halted');
  return { rm, inv: rm.inventory() };
}

/** The fields of a corpus machine's expected.json summary that the tests compare. */
interface ExpectedSummary {
  readonly enabledApicIds: number[];
  readonly hotplugCandidateApicIds: number[];
  readonly ioApicCount: number;
  readonly pmTimer: { readonly address: number } | null;
  readonly numa: {
    readonly populatedDomains: number[];
    readonly emptyDomains: number[];
    readonly perDomain: Record<number, { readonly enabledCpuApicIds: number[]; readonly memoryBytes: number; readonly hotPluggableMemoryBytes: number }>;
  } | null;
}

/** The inventory against a corpus machine's expected.json summary. */
function expectMatchesExpected(inv: Inventory, expected: ExpectedSummary): void {
    expect(inv.processors.filter((p) => p.enabled).map((p) => p.apicId)).toEqual(expected.enabledApicIds);
    expect(inv.processors.filter((p) => p.hotplug).map((p) => p.apicId)).toEqual(expected.hotplugCandidateApicIds);
    expect(inv.ioApics).toHaveLength(expected.ioApicCount);
    expect(inv.pmTimer?.port ?? null).toBe(expected.pmTimer ? expected.pmTimer.address : null);
    if (expected.numa) {
      const populated = inv.nodes.filter((n) => !n.empty).map((n) => n.domain);
      expect(populated).toEqual(expected.numa.populatedDomains);
      expect(inv.nodes.filter((n) => n.empty).map((n) => n.domain)).toEqual(expected.numa.emptyDomains);
      for (const d of expected.numa.populatedDomains) {
        const per = expected.numa.perDomain[d];
        const cpus = inv.processors.filter((p) => p.enabled && p.node === d).map((p) => p.apicId);
        expect([...cpus].sort((x, y) => x - y)).toEqual([...per.enabledCpuApicIds].sort((x, y) => x - y));
        expect(inv.nodes.find((n) => n.domain === d)!.memoryBytes + inv.nodes.find((n) => n.domain === d)!.hotPluggableMemoryBytes).toBe(per.memoryBytes + per.hotPluggableMemoryBytes);
      }
    } else expect(inv.nodes).toEqual([]);
}

/** The inventory against the firmware's own description of the machine. */
function expectMatchesFirmware(rm: RootOsMachine, inv: Inventory): void {
  const fw = rm.firmware;
  expect(inv.processors.map((p) => ({ apicId: p.apicId, uid: p.uid, enabled: p.enabled, node: p.node }))).toEqual(
    fw.processors.map((p) => ({ apicId: p.apicId, uid: p.uid, enabled: p.enabled, node: p.node })),
  );
  expect(inv.processors.every((p) => p.hotplug === !p.enabled)).toBe(true);
  expect(inv.ioApics).toEqual(fw.ioApics.map((io) => ({ id: io.id, address: io.address, gsiBase: io.gsiBase })));
  expect(inv.ramRanges).toEqual(fw.e820.map((e) => ({ base: e.base, length: e.length, type: e.type })));
  expect(inv.pmTimer).toEqual(fw.pmTimer ? { port: fw.pmTimer.port, width: fw.pmTimer.width } : null);
  expect(inv.localApicAddress).toBe(fw.localApicAddress);
  if (fw.numa) {
    expect(inv.nodes.map((n) => n.domain)).toEqual(fw.numa.nodes.map((n) => n.node));
    for (const n of fw.numa.nodes) {
      const mine = inv.memoryAffinity.filter((m) => m.domain === n.node && m.enabled).map((m) => ({ base: m.base, length: m.length }));
      expect(mine).toEqual(n.ranges.map((r) => ({ base: r.base, length: r.length })));
      const node = inv.nodes.find((x) => x.domain === n.node)!;
      expect(node.empty).toBe(n.ranges.length === 0 && n.cpus.every((i) => !fw.processors[i].enabled));
      expect(node.memoryBytes).toBe(n.ranges.reduce((s, r) => s + r.length, 0));
    }
    expect(inv.slit).toEqual(fw.numa.distances);
  } else {
    expect(inv.nodes).toEqual([]);
    expect(inv.slit).toBeNull();
  }
}

describe.each(ROOT_OS_MODES)('root OS in %s mode', (mode) => {
  test('boots on the default machine (4 processors, 2 nodes, 1 GiB) and its inventory equals the configuration', () => {
    const { rm, inv } = boot(mode);
    expect(rm.console()).toBe('boot\ndiscovered\n');
    const p = rm.machine.processor(0);
    const st = p.state;
    expect(st.cr0 & 0x80000001).toBe(0x80000001 | 0); // PE + PG
    expect(!!(st.cr4 & 0x20)).toBe(mode !== 'protected'); // PAE
    expect(!!(st.cr4 & 0x10)).toBe(mode === 'protected'); // PSE
    expect(p.is64).toBe(mode === 'long');
    expect(st.gdtrBase).toBe(rm.image.symbols.gdt);
    expect(st.idtrBase).toBe(rm.image.symbols.idt);
    expect(st.idtrLimit).toBe(mode === 'long' ? 4095 : 2047);
    expect(rm.machine.run({ maxInstructions: 1000 }).reason).toBe('all-halted'); // parked in CLI; HLT
    expect(inv.bootMagicOk).toBe(true);
    expect(inv.rsdpSource).toBe('boot-info');
    expect(inv.rsdpAddress).toBe(rm.firmware.rsdpAddress);
    expect(inv.anomalies).toEqual([]);
    expect(inv.processors).toHaveLength(4);
    expect(inv.nodes.map((n) => [n.domain, n.cpuCount, n.empty])).toEqual([
      [0, 2, false],
      [1, 2, false],
    ]);
    expect(inv.slit).toEqual([
      [10, 20],
      [20, 10],
    ]);
    expect(inv.pmTimer).toEqual({ port: 0x608, width: 24 });
    expectMatchesFirmware(rm, inv);
    // CPUID and IA32_APIC_BASE, read by real instructions
    expect(inv.cpuid.written).toBe(true);
    expect(inv.cpuid.vendor).toBe('GenuineIntel');
    expect(inv.cpuid.initialApicId).toBe(0);
    expect(inv.cpuid.features.vmx).toBe(true);
    expect(inv.cpuid.features.longMode).toBe(true);
    expect(inv.cpuid.maxPhysAddr).toBeGreaterThanOrEqual(36);
    expect(inv.cpuid.topology).not.toBeNull();
    expect(inv.apic).toMatchObject({ base: 0xfee00000, enabled: true, bsp: true, mode: 'xapic' });
  });

  test("boots on the machine's 'qemu' platform (local APICs, PC devices) too", () => {
    const { rm, inv } = boot(mode, { platform: 'qemu' });
    expect(rm.console()).toBe('boot\ndiscovered\n');
    expectMatchesFirmware(rm, inv);
    expect(inv.apic).toMatchObject({ base: 0xfee00000, enabled: true, bsp: true, mode: 'xapic' });
    expect(rm.machine.localApics).not.toBeNull();
  });

  test('hot-pluggable processors and an empty NUMA node are in the inventory', () => {
    const firmware: FirmwareSource = {
      cpus: 4,
      maxCpus: 6,
      memoryMiB: 1024,
      numa: { nodes: [{ memoryMiB: 512, cpus: [0, 1, 4] }, { memoryMiB: 512, cpus: [2, 3, 5] }, { memoryMiB: 0, cpus: [] }] },
    };
    const { rm, inv } = boot(mode, { firmware });
    expect(rm.console()).toMatch(/^boot\n(firmware: .*\n)*discovered\n$/);
    expect(inv.processors.filter((p) => p.hotplug).map((p) => [p.apicId, p.node])).toEqual([
      [4, 0],
      [5, 1],
    ]);
    expect(inv.nodes.map((n) => [n.domain, n.empty])).toEqual([
      [0, false],
      [1, false],
      [2, true],
    ]);
    expectMatchesFirmware(rm, inv);
  });

  test('the page-frame allocator state lives in guest memory', () => {
    const { rm } = boot(mode);
    const mem = rm.machine.memory;
    expect(mem.read32(PFA_ADDRESS + PfaOffsets.magic)).toBe(PFA_MAGIC);
    let usable = 0;
    for (const e of rm.firmware.e820) {
      if (e.type !== 1) continue;
      const first = Math.max(Math.ceil(e.base / 4096), PFA_RESERVED_BELOW / 4096);
      const last = Math.min(Math.floor((e.base + e.length) / 4096), 0x100000);
      if (last > first) usable += last - first;
    }
    expect(mem.read32(PFA_ADDRESS + PfaOffsets.usableAtInit)).toBe(usable);
    expect(mem.read32(rm.image.symbols.pfa_free_at_init)).toBe(usable);
    // the OS allocated one frame at boot: the first usable one above the reserved area
    expect(mem.read32(rm.image.symbols.first_frame)).toBe(PFA_RESERVED_BELOW);
    expect(mem.read32(PFA_ADDRESS + PfaOffsets.free)).toBe(usable - 2); // and one for the kernel heap
    expect(mem.read8(PFA_BITMAP_ADDRESS + PFA_RESERVED_BELOW / 4096 / 8) & 1).toBe(0);
    expect(mem.read8(PFA_BITMAP_ADDRESS + PFA_RESERVED_BELOW / 4096 / 8) & 2).toBe(0); // the kernel heap's first frame
    expect(mem.read8(PFA_BITMAP_ADDRESS + PFA_RESERVED_BELOW / 4096 / 8) & 4).toBe(4);
  });

  test.each([
    ['ud2', 6, 0],
    ['divide-error', 0, 0],
    ['general-protection', 13, 0x48],
  ] as const)('a deliberate %s produces the fatal report and halts the processor', (testFault, vector, error) => {
    const { rm } = boot(mode, { testFault });
    const rip = rm.image.symbols.test_fault + (testFault === 'divide-error' ? 6 : testFault === 'general-protection' ? 4 : 0);
    expect(rm.console()).toBe(`boot\ndiscovered\nfatal: vector 0x${vector.toString(16)} error 0x${error.toString(16)} rip 0x${rip.toString(16)} cr2 0x0\n`);
    expect(rm.machine.memory.read32(rm.image.symbols.fatal_count)).toBe(1);
    expect(rm.machine.memory.read32(rm.image.symbols.fatal_vector)).toBe(vector);
    const s = rm.machine.run({ maxInstructions: 1000 });
    expect(s.reason).toBe('all-halted');
    expect(s.cpus[0].activity).toBe('hlt');
    expect(s.cpus[0].interruptsEnabled).toBe(false);
  });

  test('an NMI scheduled at a random instruction count is counted exactly once', () => {
    // Reference run: the instruction count of the first console write (the IDT is loaded before it) and of the end.
    const ref = createRootOsMachine({ mode, spin: 500 });
    const first = ref.machine.run({ until: { port: 0x3f8 } });
    const start = ref.machine.retired(0);
    expect(first.reason).toBe('port-write');
    ref.run();
    const end = ref.machine.retired(0);
    let seed = 0x9e3779b9;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    for (let k = 0; k < 4; k++) {
      const at = start + Math.floor(rand() * (end - start - 1));
      const rm = createRootOsMachine({ mode, spin: 500 });
      rm.machine.scheduleEvent({ cpu: 0, kind: 'nmi', atInstruction: at });
      const r = rm.run();
      expect(r.reason).toBe('all-halted');
      expect(rm.nmiCount(0), `NMI at instruction ${at}`).toBe(1);
      expect(rm.console()).toBe('boot\ndiscovered\n');
      expect(rm.inventory().processors).toHaveLength(4);
    }
  });

  test('a spurious interrupt (vector 0xFF) is counted and returns', () => {
    const ref = createRootOsMachine({ mode, spin: 200, spinWithInterrupts: true });
    ref.run();
    const rm = createRootOsMachine({ mode, spin: 200, spinWithInterrupts: true });
    rm.machine.scheduleEvent({ cpu: 0, kind: 'interrupt', vector: 0xff, atInstruction: ref.machine.retired(0) - 100 });
    expect(rm.run().reason).toBe('all-halted');
    expect(rm.machine.memory.read32(rm.image.symbols.spurious_count)).toBe(1);
    expect(rm.machine.memory.read32(rm.image.symbols.fatal_count)).toBe(0);
    expect(rm.console()).toBe('boot\ndiscovered\n');
  });

  test('without the boot-info RSDP extension the RSDP is found by the BIOS-area scan', () => {
    const rm = createRootOsMachine({ mode });
    rm.machine.memory.write32(rm.firmware.bootInfoAddress + 0x74, 0); // wipe the "LLFW" magic
    expect(rm.run().reason).toBe('all-halted');
    const inv = rm.inventory();
    expect(inv.rsdpSource).toBe('scan');
    expect(inv.rsdpAddress).toBe(0xf0000);
    expectMatchesFirmware(rm, inv);
  });

  test('two runs with the same seed give identical traces', () => {
    const ref = createRootOsMachine({ mode, spin: 100 });
    ref.run();
    const nmiAt = ref.machine.retired(0) - 50; // inside the spin loop
    const once = () => {
      const trace = new TraceBus();
      const lines: string[] = [];
      trace.attach(new JsonLinesSink((l) => lines.push(l)));
      const rm = createRootOsMachine({ mode, seed: 7, trace, spin: 100 });
      rm.machine.scheduleEvent({ cpu: 0, kind: 'nmi', atInstruction: nmiAt });
      rm.run();
      expect(rm.nmiCount(0)).toBe(1);
      return lines.join('');
    };
    const a = once();
    expect(a.length).toBeGreaterThan(100);
    expect(a).toContain('root-os.discover');
    expect(a).toContain('"source":"nmi"');
    expect(once()).toBe(a);
  });
});

describe('firmware from the ACPI corpus', () => {
  const machines = ['supermicro-x8dtt-CE92DF29C87C', 'dell-poweredge-r820-E5985CCBA349', 'lenovo-miix-3-1030-04FF5A51E4B0'];
  test.each(machines.flatMap((m) => ROOT_OS_MODES.map((mode) => [m, mode] as const)))('%s (%s mode): the inventory matches expected.json', (name, mode) => {
    const dir = join(corpusDir, name);
    const expected = (JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { summary: ExpectedSummary }).summary;
    const { rm, inv } = boot(mode, { firmware: { acpiDir: dir } });
    expect(rm.console()).toMatch(/^boot\n(firmware: .*\n)*discovered\n$/);
    expect(inv.anomalies.length).toBeGreaterThan(0); // real firmware always has some; logged, not fatal
    expect(rm.console()).toContain(inv.anomalies[0]);
    expectMatchesExpected(inv, expected);
    expectMatchesFirmware(rm, inv);
  });
});

describe('SMP on the ACPI corpus: one processor per enabled MADT processor, with its APIC ID', () => {
  const all = readdirSync(corpusDir).filter((n) => existsSync(join(corpusDir, n, 'expected.json')));
  const r820 = 'dell-poweredge-r820-E5985CCBA349';
  const cases = [...all.map((m) => [m, 'long'] as const), [r820, 'pae'] as const, [r820, 'protected'] as const];
  test('the corpus has its 12 machines', () => expect(all).toHaveLength(12));
  test.each(cases)('%s (%s mode): every enabled processor comes up by its APIC ID; the inventory matches expected.json', (name, mode) => {
    const dir = join(corpusDir, name);
    const expected = (JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { summary: ExpectedSummary }).summary;
    const rm = createRootOsMachine({ mode, smp: true, firmware: { acpiDir: dir } });
    for (let i = 0; i < 8 && !rm.console().includes('running\n'); i++) rm.run(250_000);
    const n = expected.enabledApicIds.length;
    expect(rm.console()).toMatch(new RegExp(`^boot\n(firmware: .*\n)*discovered\nsmp-up ${n}/${n}\nrunning\n$`));
    expect(rm.machine.processors).toHaveLength(n);
    expect(rm.machine.localApics!.apics.map((a) => a.apicId)).toEqual(expected.enabledApicIds);
    const summary = readSmpSummary(rm.machine.memory);
    expect(summary).toEqual({ valid: true, expected: n, online: n, timedOut: 0, bspApicId: expected.enabledApicIds[0], phase: 'running' });
    const status = rm.processorStatus();
    expect(status.map((p) => p.apicId)).toEqual([...expected.enabledApicIds].sort((x, y) => x - y));
    expect(status.every((p) => p.state === 'online')).toBe(true);
    // The workload runs on every processor: ticks advance.
    rm.run(1_000_000);
    const later = rm.processorStatus();
    for (let i = 0; i < n; i++) expect(later[i].ticks, `APIC ${later[i].apicId} ticks`).toBeGreaterThan(status[i].ticks);
    const inv = rm.inventory();
    expectMatchesExpected(inv, expected);
    expectMatchesFirmware(rm, inv);
    expect(rm.machine.memory.read32(rm.image.symbols.fatal_count)).toBe(0);
  });
});

describe('image and reader', () => {
  test('the image is a multiboot kernel with a symbol table, one source for three modes', () => {
    for (const mode of ROOT_OS_MODES) {
      const img = buildRootOsImage({ mode });
      expect(img.loadAddress).toBe(0x100000);
      expect(img.entry).toBe(img.symbols.entry);
      expect(findMultibootHeader(img.bytes).offset).toBe(0);
      for (const s of ['gdt', 'idt', 'tss', 'nmi_handler', 'spurious_handler', 'isr0', 'isr31', 'fatal_common', 'nmi_counts']) expect(img.symbols[s]).toBeTypeOf('number');
    }
    expect(() => buildRootOsImage({ mode: 'real' as RootOsMode })).toThrowError(InvalidArgumentError);
    expect(() => buildRootOsImage({ mode: 'long', spin: -1 })).toThrowError(InvalidArgumentError);
  });

  test('readInventory refuses what is not an inventory', () => {
    const zeros = (_a: number, n: number) => new Uint8Array(n);
    expect(() => readInventory(zeros, INVENTORY_ADDRESS)).toThrowError(InventoryFormatError);
    expect(() => readInventory({} as never, 0)).toThrowError(InvalidArgumentError);
  });

  test('README example runs as documented', async () => {
    const { logged, expected } = await runReadmeExample(join(here, '..'));
    expect(expected.length).toBeGreaterThan(0);
    expect(logged).toEqual(expected);
  });
});
