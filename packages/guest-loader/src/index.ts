import { NotImplementedError } from '@latelaunch/kernel';

/**
 * Entry point of the guest loader (later issue). Not built yet: it throws a typed `NotImplementedError`
 * (code `LL_NOT_IMPLEMENTED`) instead of returning a fake result.
 */
export function loadGuest(..._args: unknown[]): never {
  throw new NotImplementedError('@latelaunch/guest-loader loadGuest', 'the guest loader (later issue)');
}
