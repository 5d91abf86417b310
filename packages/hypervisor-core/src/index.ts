import { NotImplementedError } from '@latelaunch/kernel';

/**
 * Entry point of the hypervisor core (later issue). Not built yet: it throws a typed `NotImplementedError`
 * (code `LL_NOT_IMPLEMENTED`) instead of returning a fake result.
 */
export function createHypervisor(..._args: unknown[]): never {
  throw new NotImplementedError('@latelaunch/hypervisor-core createHypervisor', 'the hypervisor core (later issue)');
}
