/**
 * FADT ("FACP"), the Fixed ACPI Description Table, revisions 1–6. Real firmware ships FADTs whose
 * length does not match the revision (a revision-5 table with the revision-3 length, for example);
 * the length decides which fields exist, the revision is only compared against it. Fields past
 * the end of the table read as absent (`null`) or, for the ACPI 1.0 fields, as 0.
 */
import type { AnomalyReporter } from '../anomalies.js';
import { GAS_LENGTH, hex, readGas, readHeader, sealTable, u16, u32, u64, u8, w16, w32, w64, w8, writeGas, writeHeader } from './common.js';
import type { AcpiTableHeader, GenericAddress, OemInfo } from './common.js';

/** Table length by FADT revision (ACPI 1.0: 116; ACPICA's "V2": 132; 2.0–4.0: 244; 5.x: 268; 6.x: 276). */
export const FADT_LENGTH_BY_REVISION: Readonly<Record<number, number>> = { 1: 116, 2: 132, 3: 244, 4: 244, 5: 268, 6: 276 };

/** FADT flags bits a root OS cares about. */
export const FadtFlags = {
  Wbinvd: 1 << 0,
  WbinvdFlush: 1 << 1,
  ProcC1: 1 << 2,
  PLvl2Up: 1 << 3,
  PowerButton: 1 << 4,
  SleepButton: 1 << 5,
  FixedRtc: 1 << 6,
  RtcS4: 1 << 7,
  /** The PM timer counts 32 bits (otherwise 24). */
  TmrValExt: 1 << 8,
  DockCap: 1 << 9,
  ResetRegSup: 1 << 10,
  SealedCase: 1 << 11,
  Headless: 1 << 12,
  CpuSwSlp: 1 << 13,
  PciExpWak: 1 << 14,
  UsePlatformClock: 1 << 15,
  S4RtcStsValid: 1 << 16,
  RemotePowerOnCapable: 1 << 17,
  ForceApicClusterModel: 1 << 18,
  ForceApicPhysicalDestinationMode: 1 << 19,
  /** ACPI 5.0: no fixed hardware (no PM1 blocks, no PM timer, no GPE blocks, no FACS required). */
  HwReducedAcpi: 1 << 20,
  LowPowerS0IdleCapable: 1 << 21,
} as const;

/** IA-PC boot architecture flags (IAPC_BOOT_ARCH). */
export const IapcBootFlags = {
  LegacyDevices: 1 << 0,
  I8042: 1 << 1,
  VgaNotPresent: 1 << 2,
  MsiNotSupported: 1 << 3,
  PcieAspmControls: 1 << 4,
  CmosRtcNotPresent: 1 << 5,
} as const;

export interface PmTimerBlock {
  /** Which FADT field gave the timer: the 64-bit GAS when its address is non-zero, else the 32-bit port. */
  source: 'X_PM_TMR_BLK' | 'PM_TMR_BLK';
  /** GAS address space (1 = SystemIO; always 1 for PM_TMR_BLK). */
  spaceId: number;
  address: number;
}

/** One fixed-hardware register block as ACPICA resolves it: the X GAS if set, else the 32-bit field. */
export interface FadtRegisterBlock {
  name: string;
  /** The 32-bit field. */
  address32: number;
  /** The legacy length byte. */
  length: number;
  /** The X_ GAS, or null when the table is too short to hold it. */
  x: GenericAddress | null;
  /** The effective register: the X GAS when its address is non-zero, else built from the 32-bit field (SystemIO, 8×length bits), else null. */
  effective: GenericAddress | null;
}

export interface Fadt {
  table: AcpiTableHeader;
  /** Length the revision calls for, or null for an unknown revision. */
  expectedLength: number | null;
  firmwareCtrl: number;
  dsdt: number;
  xFirmwareCtrl: number | null;
  xDsdt: number | null;
  /** DSDT address to use: X_DSDT when non-zero, else DSDT (ACPI spec / ACPICA default). */
  dsdtAddress: number;
  /** FACS address to use: X_FIRMWARE_CTRL when non-zero, else FIRMWARE_CTRL. */
  facsAddress: number;
  pmProfile: number;
  sciInterrupt: number;
  smiCommandPort: number;
  acpiEnable: number;
  acpiDisable: number;
  s4BiosRequest: number;
  pstateControl: number;
  pm1aEventBlock: number;
  pm1bEventBlock: number;
  pm1aControlBlock: number;
  pm1bControlBlock: number;
  pm2ControlBlock: number;
  /** The 32-bit PM_TMR_BLK field. */
  pmTmrBlk: number;
  gpe0Block: number;
  gpe1Block: number;
  pm1EventLength: number;
  pm1ControlLength: number;
  pm2ControlLength: number;
  /** PM_TMR_LEN (4 when there is a timer). */
  pmTimerLength: number;
  gpe0BlockLength: number;
  gpe1BlockLength: number;
  gpe1Base: number;
  cstControl: number;
  c2Latency: number;
  c3Latency: number;
  century: number;
  /** IAPC_BOOT_ARCH (see {@link IapcBootFlags}). */
  iapcBootFlags: number;
  flags: number;
  /** Flags bit 8: the PM timer is 32 bits wide (otherwise 24). */
  tmrValExt: boolean;
  /** Flags bit 20: HW_REDUCED_ACPI. */
  hardwareReduced: boolean;
  /** Flags bit 19. */
  useApicPhysicalDestMode: boolean;
  resetRegister: GenericAddress | null;
  resetValue: number | null;
  armBootFlags: number | null;
  minorRevision: number | null;
  xPm1aEventBlock: GenericAddress | null;
  xPm1bEventBlock: GenericAddress | null;
  xPm1aControlBlock: GenericAddress | null;
  xPm1bControlBlock: GenericAddress | null;
  xPm2ControlBlock: GenericAddress | null;
  /** X_PM_TMR_BLK, or null when the table is too short to hold it. */
  xPmTmrBlk: GenericAddress | null;
  xGpe0Block: GenericAddress | null;
  xGpe1Block: GenericAddress | null;
  sleepControlRegister: GenericAddress | null;
  sleepStatusRegister: GenericAddress | null;
  /** Hypervisor vendor identity (ACPI 6.0), as 16 hex digits, or null. */
  hypervisorVendorId: string | null;
  /**
   * The effective ACPI PM timer, or null when there is none. X_PM_TMR_BLK when its address is
   * non-zero, else PM_TMR_BLK (SystemIO) when non-zero. Null under HW_REDUCED_ACPI, where the
   * fixed hardware does not exist and OSPM ignores these fields.
   */
  pmTimerBlock: PmTimerBlock | null;
  /** 24 or 32 (TMR_VAL_EXT) when there is a timer, else null. */
  pmTimerBits: 24 | 32 | null;
  /** Both the 32-bit and the 64-bit timer addresses are set and differ. */
  pmTimerAddressMismatch: boolean;
  /** The eight fixed-hardware blocks, resolved like ACPICA does (empty under HW_REDUCED_ACPI). */
  registerBlocks: FadtRegisterBlock[];
}

/** name, 32-bit offset, length offset, X offset, ACPICA default bit width (0 = none), required */
const BLOCKS: readonly [string, number, number, number, number, boolean][] = [
  ['PM1a_EVT_BLK', 56, 88, 148, 32, true],
  ['PM1b_EVT_BLK', 60, 88, 160, 32, false],
  ['PM1a_CNT_BLK', 64, 89, 172, 16, true],
  ['PM1b_CNT_BLK', 68, 89, 184, 16, false],
  ['PM2_CNT_BLK', 72, 90, 196, 8, false],
  ['PM_TMR_BLK', 76, 91, 208, 32, false],
  ['GPE0_BLK', 80, 92, 220, 0, false],
  ['GPE1_BLK', 84, 93, 232, 0, false],
];

const V1_LENGTH = 116;

export function parseFadt(b: Uint8Array, r: AnomalyReporter): Fadt | null {
  const view = readHeader(b, 'FACP', r, V1_LENGTH);
  if (!view) return null;
  const { end, header } = view;
  // A zero-padded local copy, like ACPICA's: fields past `end` read as 0.
  const t = new Uint8Array(Math.max(FADT_LENGTH_BY_REVISION[6], end));
  t.set(b.subarray(0, end));
  const has = (o: number, n: number): boolean => o + n <= end;
  const gas = (o: number, what: string): GenericAddress | null => (has(o, GAS_LENGTH) ? readGas(t, o, r, what) : null);

  const expectedLength = FADT_LENGTH_BY_REVISION[header.revision] ?? null;
  if (expectedLength !== null && end !== expectedLength) {
    r.report(4, 'fadt-length-revision-mismatch', `FADT revision ${header.revision} should be ${expectedLength} (0x${hex(expectedLength)}) bytes, found ${end} (0x${hex(end)}); fields are decoded by length`);
  } else if (expectedLength === null && header.revision > 6 && end < FADT_LENGTH_BY_REVISION[6]) {
    r.report(4, 'fadt-length-revision-mismatch', `FADT revision ${header.revision} is only ${end} bytes long (ACPI 6 needs 276)`);
  }

  const flags = u32(t, 112);
  const hardwareReduced = (flags & FadtFlags.HwReducedAcpi) !== 0;
  const f: Fadt = {
    table: header,
    expectedLength,
    firmwareCtrl: u32(t, 36),
    dsdt: u32(t, 40),
    xFirmwareCtrl: has(132, 8) ? u64(t, 132, r, 'X_FIRMWARE_CTRL') : null,
    xDsdt: has(140, 8) ? u64(t, 140, r, 'X_DSDT') : null,
    dsdtAddress: 0,
    facsAddress: 0,
    pmProfile: u8(t, 45),
    sciInterrupt: u16(t, 46),
    smiCommandPort: u32(t, 48),
    acpiEnable: u8(t, 52),
    acpiDisable: u8(t, 53),
    s4BiosRequest: u8(t, 54),
    pstateControl: u8(t, 55),
    pm1aEventBlock: u32(t, 56),
    pm1bEventBlock: u32(t, 60),
    pm1aControlBlock: u32(t, 64),
    pm1bControlBlock: u32(t, 68),
    pm2ControlBlock: u32(t, 72),
    pmTmrBlk: u32(t, 76),
    gpe0Block: u32(t, 80),
    gpe1Block: u32(t, 84),
    pm1EventLength: u8(t, 88),
    pm1ControlLength: u8(t, 89),
    pm2ControlLength: u8(t, 90),
    pmTimerLength: u8(t, 91),
    gpe0BlockLength: u8(t, 92),
    gpe1BlockLength: u8(t, 93),
    gpe1Base: u8(t, 94),
    cstControl: u8(t, 95),
    c2Latency: u16(t, 96),
    c3Latency: u16(t, 98),
    century: u8(t, 108),
    iapcBootFlags: u16(t, 109),
    flags,
    tmrValExt: (flags & FadtFlags.TmrValExt) !== 0,
    hardwareReduced,
    useApicPhysicalDestMode: (flags & FadtFlags.ForceApicPhysicalDestinationMode) !== 0,
    resetRegister: gas(116, 'RESET_REG address'),
    resetValue: has(128, 1) ? u8(t, 128) : null,
    armBootFlags: has(129, 2) ? u16(t, 129) : null,
    minorRevision: has(131, 1) ? u8(t, 131) : null,
    xPm1aEventBlock: gas(148, 'X_PM1a_EVT_BLK address'),
    xPm1bEventBlock: gas(160, 'X_PM1b_EVT_BLK address'),
    xPm1aControlBlock: gas(172, 'X_PM1a_CNT_BLK address'),
    xPm1bControlBlock: gas(184, 'X_PM1b_CNT_BLK address'),
    xPm2ControlBlock: gas(196, 'X_PM2_CNT_BLK address'),
    xPmTmrBlk: gas(208, 'X_PM_TMR_BLK address'),
    xGpe0Block: gas(220, 'X_GPE0_BLK address'),
    xGpe1Block: gas(232, 'X_GPE1_BLK address'),
    sleepControlRegister: gas(244, 'SLEEP_CONTROL_REG address'),
    sleepStatusRegister: gas(256, 'SLEEP_STATUS_REG address'),
    hypervisorVendorId: has(268, 8) ? hex(u32(t, 272), 8) + hex(u32(t, 268), 8) : null,
    pmTimerBlock: null,
    pmTimerBits: null,
    pmTimerAddressMismatch: false,
    registerBlocks: [],
  };

  f.dsdtAddress = selectAddress('DSDT', 40, f.dsdt, f.xDsdt, r);
  f.facsAddress = selectAddress('FIRMWARE_CTRL', 36, f.firmwareCtrl, f.xFirmwareCtrl, r);

  const xTimer = f.xPmTmrBlk;
  f.pmTimerAddressMismatch = f.pmTmrBlk !== 0 && xTimer !== null && xTimer.address !== 0 && xTimer.address !== f.pmTmrBlk;

  if (hardwareReduced) {
    for (const [name, o32, , ox] of BLOCKS) {
      const x = has(ox, GAS_LENGTH) ? u64(t, ox + 4) : 0;
      if (u32(t, o32) !== 0 || x !== 0) r.report(x !== 0 ? ox : o32, 'fadt-hw-reduced-fixed-hardware', `HW_REDUCED_ACPI is set but ${name} is non-zero; ignored (no fixed hardware)`);
    }
  } else {
    for (const [name, o32, olen, ox, defaultWidth, required] of BLOCKS) {
      const address32 = u32(t, o32);
      const length = u8(t, olen);
      const x = has(ox, GAS_LENGTH) ? readGas(t, ox) : null;
      let effective: GenericAddress | null = null;
      if (x !== null && x.address !== 0) {
        effective = x;
        if (address32 !== 0 && x.address !== address32) {
          r.report(ox + 4, 'fadt-address-mismatch', `32/64X address mismatch in ${name}: 0x${hex(address32, 8)} / 0x${hex(x.address, 16)}; using the 64-bit address`);
        }
        if (address32 !== 0 && length * 8 <= 0xff && x.bitWidth !== length * 8) {
          r.report(ox + 1, 'fadt-legacy-length-mismatch', `32/64X length mismatch in ${name}: legacy length ${length} bytes (${length * 8} bits), X_ GAS bit width ${x.bitWidth}`);
        }
      } else if (address32 !== 0) {
        effective = { spaceId: 1, spaceName: 'SystemIO', bitWidth: Math.min(0xff, length * 8), bitOffset: 0, accessWidth: 0, address: address32 };
      }
      if (required && (effective === null || length === 0)) {
        r.report(o32, 'fadt-missing-required-block', `required ${name} has zero address and/or length (address 0x${hex(effective?.address ?? 0)}, length ${length})`);
      }
      if (effective !== null && defaultWidth > 0 && effective.bitWidth !== defaultWidth) {
        r.report(x !== null && x.address !== 0 ? ox + 1 : olen, 'fadt-register-width', `${name} is ${effective.bitWidth} bits wide, the architectural width is ${defaultWidth} (ACPICA uses ${defaultWidth})`);
      }
      f.registerBlocks.push({ name, address32, length, x, effective });
    }
    if (xTimer !== null && xTimer.address !== 0) {
      f.pmTimerBlock = { source: 'X_PM_TMR_BLK', spaceId: xTimer.spaceId, address: xTimer.address };
    } else if (f.pmTmrBlk !== 0) {
      f.pmTimerBlock = { source: 'PM_TMR_BLK', spaceId: 1, address: f.pmTmrBlk };
    }
  }
  if (f.pmTimerBlock !== null) f.pmTimerBits = f.tmrValExt ? 32 : 24;
  else r.report(hardwareReduced ? 112 : 76, 'no-pm-timer', hardwareReduced ? 'hardware-reduced ACPI: there is no ACPI PM timer' : 'PM_TMR_BLK and X_PM_TMR_BLK are both zero: there is no ACPI PM timer');
  return f;
}

function selectAddress(name: string, o32: number, a32: number, a64: number | null, r: AnomalyReporter): number {
  if (a64 === null || a64 === 0) return a32;
  if (a32 !== 0 && a32 !== a64) r.report(o32, 'fadt-address-mismatch', `32/64X ${name} address mismatch: 0x${hex(a32, 8)} / 0x${hex(a64, 16)}; using the 64-bit address`);
  return a64;
}

// ---------------------------------------------------------------------------------------------
// builder

export interface FadtSpec {
  /** 1–6; the table gets the length of that revision. */
  revision: number;
  oem: OemInfo;
  minorRevision: number;
  /** Patched by the layout; 0 in a stand-alone build. */
  firmwareCtrl: number;
  dsdt: number;
  pmProfile: number;
  sciInterrupt: number;
  smiCommandPort: number;
  acpiEnable: number;
  acpiDisable: number;
  pm1aEventBlock: number;
  pm1aControlBlock: number;
  /** PM timer I/O port, or 0 for none. */
  pmTimerPort: number;
  gpe0Block: number;
  gpe0BlockLength: number;
  century: number;
  iapcBootFlags: number;
  flags: number;
  /** Reset register (SystemIO port) and value, or null. Needs revision ≥ 2. */
  reset: { port: number; value: number } | null;
}

const io = (address: number, bitWidth: number, accessWidth: number) => ({ spaceId: address ? 1 : 0, bitWidth: address ? bitWidth : 0, bitOffset: 0, accessWidth: address ? accessWidth : 0, address });

export function buildFadt(s: FadtSpec): Uint8Array {
  const len = FADT_LENGTH_BY_REVISION[s.revision];
  const b = new Uint8Array(len);
  writeHeader(b, 'FACP', s.revision, s.oem);
  writeFadtPointers(b, s.firmwareCtrl, s.dsdt);
  w8(b, 45, s.pmProfile);
  w16(b, 46, s.sciInterrupt);
  w32(b, 48, s.smiCommandPort);
  w8(b, 52, s.acpiEnable);
  w8(b, 53, s.acpiDisable);
  w32(b, 56, s.pm1aEventBlock);
  w32(b, 64, s.pm1aControlBlock);
  w32(b, 76, s.pmTimerPort);
  w32(b, 80, s.gpe0Block);
  w8(b, 88, s.pm1aEventBlock ? 4 : 0);
  w8(b, 89, s.pm1aControlBlock ? 2 : 0);
  w8(b, 91, s.pmTimerPort ? 4 : 0);
  w8(b, 92, s.gpe0Block ? s.gpe0BlockLength : 0);
  w16(b, 96, 101); // C2 not supported (> 100 µs)
  w16(b, 98, 1001); // C3 not supported (> 1000 µs)
  w8(b, 108, s.century);
  w16(b, 109, s.iapcBootFlags);
  w32(b, 112, s.flags | (s.reset && len >= 132 ? FadtFlags.ResetRegSup : 0));
  if (len >= 132) {
    if (s.reset) {
      writeGas(b, 116, io(s.reset.port, 8, 1));
      w8(b, 128, s.reset.value);
    }
    w8(b, 131, s.revision >= 5 ? s.minorRevision : 0);
  }
  if (len >= 244) {
    writeGas(b, 148, io(s.pm1aEventBlock, 32, 2));
    writeGas(b, 172, io(s.pm1aControlBlock, 16, 2));
    writeGas(b, 208, io(s.pmTimerPort, 32, 3));
    writeGas(b, 220, io(s.gpe0Block, Math.min(0xff, s.gpe0BlockLength * 8), 1));
  }
  return sealTable(b);
}

/**
 * Writes the FACS and DSDT addresses into a built FADT (32-bit fields, plus X_DSDT when the table
 * has it; X_FIRMWARE_CTRL stays 0 because FIRMWARE_CTRL and X_FIRMWARE_CTRL must not both be set).
 * Does not re-checksum: call `sealTable` after.
 */
export function writeFadtPointers(b: Uint8Array, facs: number, dsdt: number): void {
  w32(b, 36, facs);
  w32(b, 40, dsdt);
  if (b.length >= 148) w64(b, 140, dsdt);
}
