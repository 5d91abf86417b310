import { NotImplementedError } from '@latelaunch/kernel';

/**
 * Entry point of the local APIC model (issue 6). Not built yet: it throws a typed `NotImplementedError`
 * (code `LL_NOT_IMPLEMENTED`) instead of returning a fake result.
 */
export function createLocalApic(..._args: unknown[]): never {
  throw new NotImplementedError('@latelaunch/apic createLocalApic', 'the local APIC model (issue 6)');
}
