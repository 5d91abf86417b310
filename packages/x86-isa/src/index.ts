import { NotImplementedError } from '@latelaunch/kernel';

/**
 * Entry point of the x86 decoder (issue 3). Not built yet: it throws a typed `NotImplementedError`
 * (code `LL_NOT_IMPLEMENTED`) instead of returning a fake result.
 */
export function decode(..._args: unknown[]): never {
  throw new NotImplementedError('@latelaunch/x86-isa decode', 'the x86 decoder (issue 3)');
}
