import { NotImplementedError } from '@latelaunch/kernel';

/**
 * Entry point of the ACPI table parser (issue 6). Not built yet: it throws a typed `NotImplementedError`
 * (code `LL_NOT_IMPLEMENTED`) instead of returning a fake result.
 */
export function parseAcpiTables(..._args: unknown[]): never {
  throw new NotImplementedError('@latelaunch/acpi parseAcpiTables', 'the ACPI table parser (issue 6)');
}
