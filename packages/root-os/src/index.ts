import { NotImplementedError } from '@latelaunch/kernel';

/**
 * Entry point of the root OS image (issue 7). Not built yet: it throws a typed `NotImplementedError`
 * (code `LL_NOT_IMPLEMENTED`) instead of returning a fake result.
 */
export function buildRootOsImage(..._args: unknown[]): never {
  throw new NotImplementedError('@latelaunch/root-os buildRootOsImage', 'the root OS image (issue 7)');
}
