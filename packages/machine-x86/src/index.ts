import { NotImplementedError } from '@latelaunch/kernel';

/**
 * Entry point of the simulated machine (issue 4). Not built yet: it throws a typed `NotImplementedError`
 * (code `LL_NOT_IMPLEMENTED`) instead of returning a fake result.
 */
export function createMachine(..._args: unknown[]): never {
  throw new NotImplementedError('@latelaunch/machine-x86 createMachine', 'the simulated machine (issue 4)');
}
