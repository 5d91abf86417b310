/**
 * QEMU's firmware configuration device, I/O-port interface (QEMU docs/specs/fw_cfg.rst).
 *
 * - Port 0x510: selector (16-bit write; an 8-bit write sets the selector to that byte). Every
 *   selector write resets the data offset to 0. Reads of the selector port return 0 (not
 *   specified by QEMU's document; QEMU's register is write-only).
 * - Port 0x511: data, read one byte at a time from the selected item, sequentially; bytes past the
 *   end of an item, and every byte of an unknown selector, read as 0. Data writes are ignored (QEMU
 *   ≥ 2.4 ignores them too). A wider read starting at 0x510 returns 0 for the selector byte lane
 *   and the next data byte for the 0x511 lane. The DMA interface (0x514) is not implemented, so the
 *   ID item reports only the traditional interface.
 * - Bit 14 of the selector (the write channel, deprecated) is ignored for lookups; bit 15 selects
 *   the architecture-local items (0x8000+).
 *
 * Items (little-endian unless noted):
 *
 * | key | name | contents |
 * |---|---|---|
 * | 0x00 | FW_CFG_SIGNATURE | `"QEMU"` |
 * | 0x01 | FW_CFG_ID | u32 feature bitmap: bit 0 traditional interface (1), bit 1 DMA (0) |
 * | 0x02 | FW_CFG_UUID | 16 zero bytes |
 * | 0x03 | FW_CFG_RAM_SIZE | u64 total RAM bytes |
 * | 0x05 | FW_CFG_NB_CPUS | u16 processors present at boot |
 * | 0x0d | FW_CFG_NUMA | (only with NUMA) u64 node count, u64 node per APIC ID (0 … APIC ID limit − 1, as QEMU's `apic_id_limit` array), u64 memory bytes per node |
 * | 0x0f | FW_CFG_MAX_CPUS | u16 possible processors (present + hot-pluggable) |
 * | 0x19 | FW_CFG_FILE_DIR | u32 **big-endian** count, then per file: u32 BE size, u16 BE select, u16 reserved, char name[56] |
 * | 0x20+ | files | e.g. `etc/e820`: packed `{ u64 address; u64 length; u32 type }` entries (20 bytes each) |
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import { inject, injectable } from 'tsyringe';
import type { AccessSize, Bus } from '../bus/bus.js';
import { Attachment, optionsToken, type BusDevice } from './device.js';

/** Well-known fw_cfg selectors. */
export const FwCfgKey = {
  Signature: 0x00,
  Id: 0x01,
  Uuid: 0x02,
  RamSize: 0x03,
  NbCpus: 0x05,
  Numa: 0x0d,
  MaxCpus: 0x0f,
  FileDir: 0x19,
  FileFirst: 0x20,
} as const;

/** Selector bits. */
export const FW_CFG_WRITE_CHANNEL = 0x4000;
export const FW_CFG_ARCH_LOCAL = 0x8000;
/** Length of a file name in the directory (NUL-padded). */
export const FW_CFG_MAX_FILE_PATH = 56;

export interface FwCfgFile {
  readonly name: string;
  readonly data: Uint8Array;
}

export interface FwCfgOptions {
  /** Selector port (data = +1). Default 0x510. */
  readonly base?: number;
  /** Total RAM in bytes (FW_CFG_RAM_SIZE). Default 0. */
  readonly ramSize?: number;
  /** Processors at boot (FW_CFG_NB_CPUS). Default 1. */
  readonly cpus?: number;
  /** Possible processors (FW_CFG_MAX_CPUS). Default `cpus`. */
  readonly maxCpus?: number;
  /** NUMA: node per APIC ID (index = APIC ID, length = highest possible APIC ID + 1; 0 for unused IDs) and memory bytes per node. */
  readonly numa?: { readonly nodeOfApicId: readonly number[]; readonly nodeMemory: readonly number[] } | null;
  /** E820 map for the `etc/e820` file (omitted: no such file). */
  readonly e820?: readonly { readonly base: number; readonly length: number; readonly type: number }[];
  /** More files (names unique, at most 55 bytes). */
  readonly files?: readonly FwCfgFile[];
  readonly name?: string;
}

/** Injection token for {@link FwCfgOptions}. */
export const FwCfgOptionsToken = optionsToken<FwCfgOptions>('FwCfgOptions');

class FwCfgState {
  constructor(
    readonly selector: number,
    readonly offset: number,
  ) {
    Object.freeze(this);
  }
}

function u16le(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >> 8) & 0xff);
}

function u64le(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setBigUint64(i * 8, BigInt(v), true));
  return out;
}

/** Encodes an E820 map as QEMU's `etc/e820` file. */
export function encodeFwCfgE820(entries: readonly { readonly base: number; readonly length: number; readonly type: number }[]): Uint8Array {
  const out = new Uint8Array(entries.length * 20);
  const dv = new DataView(out.buffer);
  entries.forEach((e, i) => {
    dv.setBigUint64(i * 20, BigInt(e.base), true);
    dv.setBigUint64(i * 20 + 8, BigInt(e.length), true);
    dv.setUint32(i * 20 + 16, e.type, true);
  });
  return out;
}

@injectable()
export class FwCfg implements BusDevice {
  readonly name: string;
  readonly description = 'QEMU fw_cfg (I/O ports)';
  readonly base: number;
  private readonly items = new Map<number, Uint8Array>();
  private readonly fileList: { name: string; select: number; size: number }[] = [];
  private selector = 0;
  private offset = 0;
  private readonly attachment = new Attachment();

  constructor(@inject(FwCfgOptionsToken) options: FwCfgOptions = {}) {
    this.base = options.base ?? 0x510;
    if (!Number.isInteger(this.base) || this.base < 0 || this.base > 0xfffe) throw new InvalidArgumentError(`fw_cfg base ${this.base} is outside the port space`);
    this.name = options.name ?? 'fw-cfg';
    const cpus = options.cpus ?? 1;
    const maxCpus = options.maxCpus ?? cpus;
    const ram = options.ramSize ?? 0;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 0xffff || !Number.isInteger(maxCpus) || maxCpus < cpus || maxCpus > 0xffff) {
      throw new InvalidArgumentError(`fw_cfg cpus ${cpus} / maxCpus ${maxCpus}: need 1 ≤ cpus ≤ maxCpus ≤ 65535`);
    }
    if (!Number.isSafeInteger(ram) || ram < 0) throw new InvalidArgumentError(`fw_cfg ramSize ${ram} must be a non-negative integer`);
    this.items.set(FwCfgKey.Signature, new TextEncoder().encode('QEMU'));
    this.items.set(FwCfgKey.Id, Uint8Array.of(1, 0, 0, 0));
    this.items.set(FwCfgKey.Uuid, new Uint8Array(16));
    this.items.set(FwCfgKey.RamSize, u64le([ram]));
    this.items.set(FwCfgKey.NbCpus, u16le(cpus));
    this.items.set(FwCfgKey.MaxCpus, u16le(maxCpus));
    if (options.numa) {
      const { nodeOfApicId, nodeMemory } = options.numa;
      this.items.set(FwCfgKey.Numa, u64le([nodeMemory.length, ...nodeOfApicId, ...nodeMemory]));
    }
    if (options.e820) this.addFile('etc/e820', encodeFwCfgE820(options.e820));
    for (const f of options.files ?? []) this.addFile(f.name, f.data);
    this.rebuildDirectory();
  }

  /** Adds a file item (selector 0x20 + n) and lists it in the directory. */
  addFile(name: string, data: Uint8Array): number {
    const bytes = new TextEncoder().encode(name);
    if (bytes.length === 0 || bytes.length >= FW_CFG_MAX_FILE_PATH) throw new InvalidArgumentError(`fw_cfg file name '${name}' must be 1..55 bytes`);
    if (this.fileList.some((f) => f.name === name)) throw new InvalidArgumentError(`fw_cfg file '${name}' exists`);
    const select = FwCfgKey.FileFirst + this.fileList.length;
    this.items.set(select, new Uint8Array(data));
    this.fileList.push({ name, select, size: data.length });
    this.rebuildDirectory();
    return select;
  }

  /** Sets (or replaces) a raw item. */
  setItem(key: number, data: Uint8Array): void {
    this.items.set(key & 0xffff & ~FW_CFG_WRITE_CHANNEL, new Uint8Array(data));
  }

  /** The contents of an item (for tests), or undefined. */
  item(key: number): Uint8Array | undefined {
    return this.items.get(key & 0xffff & ~FW_CFG_WRITE_CHANNEL);
  }

  /** Files in directory order. */
  get files(): readonly { readonly name: string; readonly select: number; readonly size: number }[] {
    return this.fileList;
  }

  private rebuildDirectory(): void {
    const dir = new Uint8Array(4 + 64 * this.fileList.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, this.fileList.length, false);
    this.fileList.forEach((f, i) => {
      const o = 4 + i * 64;
      dv.setUint32(o, f.size, false);
      dv.setUint16(o + 4, f.select, false);
      dir.set(new TextEncoder().encode(f.name), o + 8);
    });
    this.items.set(FwCfgKey.FileDir, dir);
  }

  attach(bus: Bus): void {
    this.attachment.release();
    this.attachment.ports(
      bus,
      this.base,
      2,
      {
        read: (port: number, size: AccessSize) => {
          let v = 0;
          for (let i = 0; i < size; i++) {
            const b = port + i === this.base + 1 ? this.readData() : 0;
            v += b * 2 ** (8 * i);
          }
          return v;
        },
        write: (port: number, size: AccessSize, value: number) => {
          if (port === this.base) this.select(size === 1 ? value & 0xff : value & 0xffff);
        },
      },
      this.name,
    );
  }

  detach(): void {
    this.attachment.release();
  }

  reset(): void {
    this.selector = 0;
    this.offset = 0;
  }

  /** A selector write: selects `key` and resets the read offset. */
  select(key: number): void {
    this.selector = key & 0xffff;
    this.offset = 0;
  }

  /** A data-port byte read. */
  readData(): number {
    const data = this.items.get(this.selector & ~FW_CFG_WRITE_CHANNEL);
    if (!data || this.offset >= data.length) return 0;
    return data[this.offset++];
  }

  get currentSelector(): number {
    return this.selector;
  }

  saveState(): unknown {
    return new FwCfgState(this.selector, this.offset);
  }

  loadState(state: unknown): void {
    if (!(state instanceof FwCfgState)) throw new InvalidArgumentError(`${this.name}.loadState: not a fw_cfg state`);
    this.selector = state.selector;
    this.offset = state.offset;
  }
}
