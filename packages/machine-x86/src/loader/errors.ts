import { InvalidArgumentError } from '@latelaunch/kernel';

/** Why an image was refused. Stable strings: callers and tests switch on them. */
export type ImageErrorReason =
  /** The file ends before a structure it declares. */
  | 'truncated'
  /** Not an ELF file (or not the expected format). */
  | 'bad-magic'
  /** ELF class other than ELFCLASS32/ELFCLASS64, or an ELF64 image where only ELF32 is allowed. */
  | 'unsupported-class'
  /** Big-endian ELF. */
  | 'unsupported-endianness'
  /** ELF version other than 1. */
  | 'unsupported-version'
  /** e_machine is not what the loader needs (EM_386 for multiboot). */
  | 'unsupported-machine'
  /** Program header table malformed (entry size, count, offset). */
  | 'bad-program-headers'
  /** A segment is malformed (filesz > memsz, data beyond the file). */
  | 'bad-segment'
  /** No PT_LOAD segment. */
  | 'no-loadable-segments'
  /** An address does not fit the physical address space. */
  | 'address-out-of-range'
  /** A segment or structure would land outside RAM. */
  | 'not-backed'
  /** No multiboot header in the first 8192 bytes. */
  | 'no-multiboot-header'
  /** A multiboot header magic was found but no valid checksum. */
  | 'bad-checksum'
  /** The multiboot header requires a feature this loader cannot provide. */
  | 'unsupported-flags'
  /** The a.out-kludge address fields are inconsistent. */
  | 'bad-address-fields'
  /** The boot information cannot be placed without overlapping the kernel. */
  | 'overlap';

/**
 * A kernel or ELF image was refused. Code `LL_INVALID_ARGUMENT` (bad input: the CLI reports one line
 * and exits 2); `reason` says which check failed.
 */
export class ImageFormatError extends InvalidArgumentError {
  constructor(
    readonly reason: ImageErrorReason,
    message: string,
  ) {
    super(message);
  }
}
