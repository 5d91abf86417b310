import { NotImplementedError } from '@latelaunch/kernel';

/**
 * Entry point of address-translation walkers (issue 5). Not built yet: it throws a typed `NotImplementedError`
 * (code `LL_NOT_IMPLEMENTED`) instead of returning a fake result.
 */
export function createWalker(..._args: unknown[]): never {
  throw new NotImplementedError('@latelaunch/paging createWalker', 'address-translation walkers (issue 5)');
}
