/**
 * The address translator of a processor when no paging plugin is composed.
 *
 * With CR0.PG = 0 the linear address *is* the physical address (SDM Vol. 3A 4.1.1; linear
 * addresses are 32 bits wide outside IA-32e mode, so bits 63:32 are dropped). When software
 * enables paging (MOV to CR0 setting PG) the stand-in either hands over to a translator made by
 * the supplied `AddressTranslatorFactory` (from then on it delegates every call), or — with no
 * factory — throws {@link MissingPagingPluginError}, a typed error that names the missing
 * `@latelaunch/paging` plugin, instead of translating wrongly.
 */
import { ErrorCodes, LatelaunchError, type AddressTranslator, type ExtendedAddressTranslator, type AddressTranslatorFactory, type PageAccess, type PagingControl, type PhysicalMemory, type TranslationResult } from '@latelaunch/kernel';
import { Cr0 } from './state.js';

/** Software enabled paging but the system has no address translator (paging plugin). */
export class MissingPagingPluginError extends LatelaunchError {
  constructor(detail: string) {
    super(
      ErrorCodes.MissingExtension,
      `paging was enabled by software (${detail}) but no AddressTranslatorFactory is composed: add the @latelaunch/paging plugin to the system`,
    );
  }
}

export class StandinTranslator implements AddressTranslator {
  private delegate: AddressTranslator | null = null;

  constructor(
    private readonly control: PagingControl,
    private readonly memory: PhysicalMemory | null = null,
    private readonly factory: AddressTranslatorFactory | null = null,
  ) {}

  /** The real translator once paging was enabled with a factory, else null. */
  get active(): AddressTranslator | null {
    return this.delegate;
  }

  translate(linear: number, access: PageAccess, implicitSupervisor: boolean, out: TranslationResult): boolean {
    if (this.delegate) return this.delegate.translate(linear, access, implicitSupervisor, out);
    if (this.control.cr0 & Cr0.PG) throw new MissingPagingPluginError(`translate ${linear.toString(16)}`);
    out.physical = linear >>> 0;
    out.fault = 0;
    out.errorCode = 0;
    return true;
  }

  controlRegisterWritten(which: 'cr0' | 'cr3' | 'cr4' | 'efer', oldValue: number): boolean {
    if (this.delegate) return this.delegate.controlRegisterWritten(which, oldValue);
    if ((this.control.cr0 & Cr0.PG) === 0) return true;
    if (!this.factory || !this.memory) throw new MissingPagingPluginError(`MOV to ${which.toUpperCase()}, CR0=${(this.control.cr0 >>> 0).toString(16)}`);
    this.delegate = this.factory.create(this.control, this.memory);
    // The new translator has seen no history: tell it about the write that enabled paging.
    return this.delegate.controlRegisterWritten(which, oldValue);
  }

  /** A paging plugin's factory is available (VMX can offer EPT and VPIDs). */
  get factoryAvailable(): boolean {
    return this.factory !== null && this.memory !== null;
  }

  /**
   * The full translator (VMX: VPID/EPT context, PDPTE loading), created from the factory if paging
   * was never enabled; null without a factory (no paging plugin: EPT and VPID are unavailable).
   */
  ensureExtended(): ExtendedAddressTranslator | null {
    if (this.delegate === null && this.factory && this.memory) this.delegate = this.factory.create(this.control, this.memory);
    const d = this.delegate as Partial<ExtendedAddressTranslator> | null;
    return d !== null && typeof d.setEpt === 'function' ? (d as ExtendedAddressTranslator) : null;
  }

  invalidatePage(linear: number): void {
    this.delegate?.invalidatePage(linear);
  }

  flushAll(includingGlobal: boolean): void {
    this.delegate?.flushAll(includingGlobal);
  }
}
