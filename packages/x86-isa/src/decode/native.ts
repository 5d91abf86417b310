/**
 * The native-service instruction (DESIGN §4 "native services").
 *
 * A native service is invoked by one reserved encoding of UD1 (`0F B9 /r`), an opcode that every
 * x86 processor architecturally guarantees to raise #UD, and that has a ModRM byte on both Intel
 * and AMD (so every decoder and disassembler agrees on its length). The exact form is
 *
 *     [67] 0F B9 80 <disp32>      ud1 eax, DWORD PTR [eax + disp32]   (rax in 64-bit code)
 *
 * with ModRM = 0x80 (mod=10, reg=000 (eax), rm=000 (eax)) and disp32 = 0x4C4C0000 | service:
 * the magic 'LL' in the high 16 bits and the 16-bit service number in the low 16 bits. In 16-bit
 * code the 0x67 address-size prefix is required so that ModRM 0x80 takes a 32-bit displacement.
 * Any other UD1 encoding (other ModRM, other magic, extra prefixes) is a plain UD1.
 */
import { InvalidArgumentError } from '@latelaunch/kernel';

/** High half of the disp32 of the native-service UD1: ASCII 'LL' (0x4C4C) in bits 31..16. */
export const NATIVE_SERVICE_MAGIC = 0x4c4c0000;
/** Mask of the magic bits in the disp32 (bits 31..16). */
export const NATIVE_SERVICE_MAGIC_MASK = 0xffff0000;
/** ModRM byte of the native-service form (mod=10, reg=000, rm=000). */
export const NATIVE_SERVICE_MODRM = 0x80;
/** Largest service number (16 bits). */
export const NATIVE_SERVICE_MAX = 0xffff;

/** Length in bytes of the native-service instruction in a mode (7 in 32/64-bit code, 8 in 16-bit code). */
export function nativeServiceLength(mode: 16 | 32 | 64): number {
  checkMode(mode);
  return mode === 16 ? 8 : 7;
}

/**
 * The bytes of the native-service instruction calling `service` (0..0xFFFF) in `mode`.
 * Throws `InvalidArgumentError` for a bad mode or service number.
 */
export function nativeServiceBytes(mode: 16 | 32 | 64, service: number): Uint8Array {
  checkMode(mode);
  if (!Number.isInteger(service) || service < 0 || service > NATIVE_SERVICE_MAX) {
    throw new InvalidArgumentError(`native service number must be an integer in 0..0xFFFF, got ${String(service)}`);
  }
  const disp = (NATIVE_SERVICE_MAGIC | service) >>> 0;
  const body = [0x0f, 0xb9, NATIVE_SERVICE_MODRM, disp & 0xff, (disp >>> 8) & 0xff, (disp >>> 16) & 0xff, disp >>> 24];
  return Uint8Array.from(mode === 16 ? [0x67, ...body] : body);
}

function checkMode(mode: number): void {
  if (mode !== 16 && mode !== 32 && mode !== 64) {
    throw new InvalidArgumentError(`x86 mode must be 16, 32 or 64, got ${String(mode)}`);
  }
}
