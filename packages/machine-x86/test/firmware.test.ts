import { summarizeAcpi } from '@latelaunch/acpi';
import { InvalidArgumentError, Tokens, composeSystem } from '@latelaunch/kernel';
import { describe, expect, it } from 'vitest';
import { CpuidModel } from '../src/cpu/cpuid.js';
import {
  BOOT_INFO_EXTENSION_MAGIC,
  Bus,
  E820Type,
  SparseMemory,
  VirtualClock,
  type PcFirmware,
  buildFirmware,
  createPlatformDevices,
  firmwareMemoryLayout,
  normalizeFirmwareConfig,
  pcFirmwarePlugin,
  qemuPlatformProfile,
  stampRsdpExtension,
  topologyProcessor,
} from '../src/index.js';
import { checkBootInfo, checkE820, discover, ramBytes } from './firmware-helpers.js';

const MiB = 0x100000;

describe('firmware from a machine config', () => {
  it('default machine: 4 processors, 2 NUMA nodes, 1 GiB', () => {
    const fw = buildFirmware();
    const t = discover(fw);
    expect(t.anomalies.filter((a) => a.severity !== 'info')).toEqual([]);
    const s = summarizeAcpi(t);
    expect(s.enabledApicIds).toEqual([0, 1, 2, 3]);
    expect(s.hotplugCandidates).toBe(0);
    expect(s.ioApicCount).toBe(1);
    expect(t.madt?.ioApics).toEqual([{ id: 4, address: 0xfec00000, gsiBase: 0 }]);
    expect(t.madt?.localApicAddress).toBe(0xfee00000);
    expect(s.pmTimer).toEqual({ source: 'X_PM_TMR_BLK', spaceId: 1, address: 0x608 });
    expect(t.fadt?.pmTimerBits).toBe(24);
    expect(s.numa?.populatedDomains).toEqual([0, 1]);
    expect(s.numa?.perDomain['0'].enabledCpuApicIds).toEqual([0, 1]);
    expect(s.numa?.perDomain['1'].enabledCpuApicIds).toEqual([2, 3]);
    expect(t.slit?.matrix).toEqual([
      [10, 20],
      [20, 10],
    ]);
    // SRAT memory = all RAM (1 GiB minus the 384 KiB legacy hole), 512 MiB per node.
    expect(s.numa?.perDomain['0'].memoryBytes).toBe(512 * MiB - 0x60000);
    expect(s.numa?.perDomain['1'].memory).toEqual([[512 * MiB, 512 * MiB]]);
    checkE820(fw, t);
    expect(ramBytes(fw.e820) + 0x400).toBe(1024 * MiB - 0x60000); // + the EBDA's RAM
    checkBootInfo(fw);
    expect(fw.processors.map((p) => [p.apicId, p.enabled, p.node])).toEqual([
      [0, true, 0],
      [1, true, 0],
      [2, true, 1],
      [3, true, 1],
    ]);
    expect(fw.pmTimer).toEqual({ port: 0x608, width: 24 });
    expect(fw.ioApics).toEqual([{ id: 4, address: 0xfec00000, gsiBase: 0 }]);
    expect(fw.isaIrqToGsi[0]).toBe(2);
    expect(fw.anomalies).toEqual([]);
    expect(fw.tables.map((x) => x.signature)).toEqual(['FACS', 'DSDT', 'FACP', 'APIC', 'SRAT', 'SLIT', 'RSDT', 'XSDT']);
  });

  for (const n of [1, 2, 7, 64]) {
    it(`${n} processor(s)`, () => {
      const fw = buildFirmware({ cpus: n, cmdline: `cpus=${n}` });
      const t = discover(fw);
      const s = summarizeAcpi(t);
      const ids = Array.from({ length: n }, (_, i) => i);
      expect(s.enabledApicIds).toEqual(ids);
      expect(s.enabled).toBe(n);
      // Processors by package: the first ⌈n/2⌉ on node 0.
      const half = Math.ceil(n / 2);
      expect(s.numa?.perDomain['0'].enabledCpuApicIds).toEqual(ids.slice(0, half));
      if (n > 1) expect(s.numa?.perDomain['1'].enabledCpuApicIds).toEqual(ids.slice(half));
      else expect(s.numa?.cpulessDomains).toEqual([1]);
      expect(s.numa?.enabledMadtCpusMissingFromSrat).toEqual([]);
      expect(t.anomalies.filter((a) => a.severity !== 'info')).toEqual([]);
      checkE820(fw, t);
      checkBootInfo(fw, `cpus=${n}`);
      expect(t.madt?.ioApics[0].id).toBe(n);
    });
  }

  it('hyper-threading with hot-pluggable packages: APIC IDs agree with the CPUID model', () => {
    const fw = buildFirmware({ cpus: 4, maxCpus: 8, hyperThreading: true });
    const t = discover(fw);
    const s = summarizeAcpi(t);
    expect(fw.topology).toMatchObject({ packages: 2, coresPerPackage: 2, threadsPerCore: 2, smtBits: 1, coreBits: 1, packageShift: 2, hyperThreading: true });
    expect(s.enabledApicIds).toEqual([0, 1, 2, 3]);
    expect(s.hotplugCandidateApicIds).toEqual([4, 5, 6, 7]);
    expect(t.madt?.processors.filter((p) => !p.enabled).every((p) => p.onlineCapable)).toBe(true);
    expect(s.numa?.perDomain['0'].enabledCpuApicIds).toEqual([0, 1, 2, 3]);
    expect(s.numa?.cpulessDomains).toEqual([1]); // its package is not present
    const cpuid = new CpuidModel({ ...fw.topology.cpuid });
    fw.processors.forEach((p, i) => expect(cpuid.apicIdOf(i)).toBe(p.apicId));
    // Leaf 0xB level 0 (SMT): 1 bit, 2 logical processors.
    const out = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
    cpuid.query(0xb, 0, 3, out);
    expect(out.eax & 0x1f).toBe(1);
    expect(out.ebx & 0xffff).toBe(2);
    expect(out.edx).toBe(3);
    expect(topologyProcessor(fw.topology, 5)).toEqual({ index: 5, apicId: 5, package: 1, core: 0, thread: 1 });
  });

  it('NUMA: explicit assignment, memoryless, CPU-less and empty nodes, custom distances', () => {
    const distances = [
      [10, 16, 22, 30],
      [16, 10, 22, 30],
      [22, 22, 10, 30],
      [30, 30, 30, 10],
    ];
    const fw = buildFirmware({
      cpus: 4,
      numa: { nodes: [{ memoryMiB: 384, cpus: [0, 1] }, { memoryMiB: 0, cpus: [2, 3] }, { memoryMiB: 128 }, { memoryMiB: 0 }], distances },
    });
    const t = discover(fw);
    const s = summarizeAcpi(t);
    expect(s.numa).toMatchObject({ populatedDomains: [0, 1, 2], allDomainsReferenced: [0, 1, 2, 3], emptyDomains: [3], memorylessDomains: [1], cpulessDomains: [2] });
    expect(s.numa?.perDomain['1'].enabledCpuApicIds).toEqual([2, 3]);
    expect(s.numa?.perDomain['2'].memory).toEqual([[384 * MiB, 128 * MiB]]);
    expect(t.slit?.matrix).toEqual(distances);
    expect(fw.layout.memoryMiB).toBe(512);
    checkE820(fw, t);
    expect(ramBytes(fw.e820) + 0x400).toBe(512 * MiB - 0x60000);
  });

  it('more than 3 GiB: PCI hole below 4 GiB, RAM remapped above; SRAT covers it; 32-bit PM timer', () => {
    const fw = buildFirmware({ cpus: 2, memoryMiB: 4096, pmTimer: { port: 0xb008, bits: 32 } });
    const t = discover(fw);
    const s = summarizeAcpi(t);
    expect(fw.layout.lowMemoryEnd).toBe(0xc0000000);
    expect(fw.e820.some((e) => e.type === E820Type.Usable && e.base === 0x100000000 && e.length === 1024 * MiB)).toBe(true);
    checkE820(fw, t);
    expect(ramBytes(fw.e820, MiB)).toBe(4096 * MiB - MiB);
    expect(s.numa?.perDomain['1'].memory).toEqual([
      [2048 * MiB, 1024 * MiB],
      [0x100000000, 1024 * MiB],
    ]);
    expect(s.pmTimer?.address).toBe(0xb008);
    expect(t.fadt?.pmTimerBits).toBe(32);
    expect(fw.pmTimer).toEqual({ port: 0xb008, width: 32 });
  });

  it('without NUMA: no SRAT/SLIT', () => {
    const fw = buildFirmware({ cpus: 2, numa: null, memoryMiB: 64 });
    const t = discover(fw);
    expect(t.srat).toBeNull();
    expect(t.slit).toBeNull();
    expect(fw.processors.every((p) => p.node === null)).toBe(true);
    checkE820(fw, t);
  });

  it('builds into a given memory; refuses memory that does not back the tables; validates the config', () => {
    const layout = firmwareMemoryLayout({ memoryMiB: 128 });
    const memory = new SparseMemory({ ranges: layout.ranges });
    const fw = buildFirmware({ memoryMiB: 128 }, memory);
    expect(fw.memory).toBe(memory);
    discover(fw);
    const small = new SparseMemory({ ranges: [{ base: 0, size: 0xa0000 }] });
    expect(() => buildFirmware({ memoryMiB: 128 }, small)).toThrow(InvalidArgumentError);
    expect(() => normalizeFirmwareConfig({ cpus: 0 })).toThrow(/cpus/);
    expect(() => normalizeFirmwareConfig({ cpus: 4, maxCpus: 2 })).toThrow(/maxCpus/);
    expect(() => normalizeFirmwareConfig({ memoryMiB: 64, numa: { nodes: [{ memoryMiB: 64, cpus: [0, 1, 2, 3] }, { memoryMiB: 0 }], distances: null } })).toThrow(/no processor and no memory|needs distances/);
    expect(() => normalizeFirmwareConfig({ numa: { nodes: [{ cpus: [0] }, { cpus: [0] }] } })).toThrow(/two nodes/);
  });

  it('RSDP extension can be stamped into a loader-written info area', () => {
    const mem = new SparseMemory({ ranges: [{ base: 0, size: 0x100000 }] });
    stampRsdpExtension(mem, 0x10000, 0xf0000, 6);
    expect(mem.read32(0x10074)).toBe(BOOT_INFO_EXTENSION_MAGIC);
    expect(mem.read32(0x10078)).toBe(0xf0000);
    expect(mem.read32(0x1007c)).toBe(6);
  });
});

describe('machine-x86.pc-firmware plugin', () => {
  it('provides Tokens.Firmware built from config.machine', () => {
    const system = composeSystem({ plugins: [pcFirmwarePlugin], config: { machine: { cpus: 3, possibleCpus: 4, numaNodes: 1, memoryMiB: 256 } } });
    const fw = system.resolve(Tokens.Firmware) as PcFirmware;
    expect(fw.name).toBe('pc-firmware');
    expect(fw.layout().memoryMiB).toBe(256);
    const r = fw.build();
    expect(r.processors.map((p) => p.enabled)).toEqual([true, true, true, false]);
    expect(r.numa?.nodes).toHaveLength(1);
    const s = summarizeAcpi(discover(r));
    expect(s.hotplugCandidateApicIds).toEqual([3]);
  });
});

describe('QEMU platform profile', () => {
  it('lists the devices at the QEMU addresses and instantiates them wired', () => {
    const fw = buildFirmware();
    const profile = qemuPlatformProfile({ firmware: fw });
    const where = Object.fromEntries(profile.devices.map((d) => [d.kind, d.mmio ? d.mmio[0] : d.ports[0][0]]));
    expect(where).toEqual({
      'uart16550': 0x3f8,
      'debug-exit': 0xf4,
      'post-code': 0x80,
      'pic8259': 0x20,
      'pit8254': 0x40,
      'cmos-rtc': 0x70,
      'pm-timer': 0x608,
      'fw-cfg': 0x510,
      'ioapic': 0xfec00000,
      'local-apic': 0xfee00000,
    });
    const clock = new VirtualClock();
    const p = createPlatformDevices(profile, { clock });
    const bus = new Bus(fw.memory);
    for (const d of p.devices) d.attach(bus);
    // fw_cfg reports the firmware's machine.
    bus.out16(0x510, 0x05);
    expect(bus.in8(0x511)).toBe(4);
    bus.out16(0x510, 0x03);
    const ram = Array.from({ length: 8 }, () => bus.in8(0x511));
    expect(ram.reduce((s, b, i) => s + b * 2 ** (8 * i), 0)).toBe(fw.layout.lowMemoryEnd + fw.layout.highMemorySize);
    // fw_cfg NUMA: node count, node per APIC ID, memory per node.
    bus.out16(0x510, 0x0d);
    const numa = Array.from({ length: 7 }, () => Number(Array.from({ length: 8 }, () => bus.in8(0x511)).reduce((s, b, i) => s + BigInt(b) * 256n ** BigInt(i), 0n)));
    expect(numa).toEqual([2, 0, 0, 1, 1, 512 * MiB, 512 * MiB]); // configured node sizes, as QEMU's node_mem
    // CMOS extended memory.
    bus.out8(0x70, 0x34);
    expect(bus.in8(0x71) | 0).toBe(((1024 * MiB - 16 * MiB) / 0x10000) & 0xff);
    // PIT channel 0 → 8259 IRQ0 and I/O APIC pin 2.
    const sent: number[] = [];
    p.ioApics[0].setBackend({ deliver: (m) => sent.push(m.vector) });
    bus.write32(0xfec00000, 0x10 + 2 * 2);
    bus.write32(0xfec00010, 0x30);
    bus.out8(0x21, 0xfa); // unmask IRQ0 (and the cascade)
    bus.out8(0x43, 0x34);
    bus.out8(0x40, 0x9c);
    bus.out8(0x40, 0x2e); // 11932: 10 ms
    clock.advance(25_000_000);
    expect(sent).toEqual([0x30, 0x30]);
    expect(p.pic?.intr).toBe(true);
    expect(p.pic?.acknowledge()).toBe(0x08);
    // PM timer counts with the clock.
    expect(bus.in32(0x608)).toBe(Math.floor((25_000_000 * 3_579_545) / 1e9));
    // UART THRE interrupt (OUT2 gate) → ISA IRQ 4 on both controllers.
    bus.write32(0xfec00000, 0x10 + 2 * 4);
    bus.write32(0xfec00010, 0x34);
    bus.out8(0x3f9, 0x02);
    bus.out8(0x3fc, 0x08);
    expect(sent).toEqual([0x30, 0x30, 0x34]);
    expect(p.pic!.chip(0).irr & 0x10).toBe(0x10);
  });
});

describe('README "Firmware" example', () => {
  it('runs and prints what its comments say', async () => {
    const { readFileSync, writeFileSync, rmSync } = await import('node:fs');
    const { dirname, join } = await import('node:path');
    const { fileURLToPath, pathToFileURL } = await import('node:url');
    const { vi } = await import('vitest');
    const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
    const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Firmware ('));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const expected = [...code.matchAll(/console\.log\(.*\/\/ (.+)$/gm)].map((x) => x[1].trim());
    expect(expected.length).toBeGreaterThan(0);
    const file = join(pkg, 'test', `.readme-firmware-${process.pid}-${Date.now()}.mjs`);
    writeFileSync(file, code);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await import(pathToFileURL(file).href);
      expect(log.mock.calls.map((c) => c.map(String).join(' '))).toEqual(expected);
    } finally {
      log.mockRestore();
      rmSync(file, { force: true });
    }
  });
});
