/**
 * Typed errors with stable codes. Every library error in latelaunch is a `LatelaunchError`
 * (or subclass) carrying a `code` from {@link ErrorCodes}; callers switch on the code, never on
 * the message text. The CLI maps any `LatelaunchError` raised by bad input to one stderr line and
 * exit status 2.
 */
export const ErrorCodes = {
  /** The system configuration failed schema validation. */
  ConfigInvalid: 'LL_CONFIG_INVALID',
  /** A required extension point has no implementation. */
  MissingExtension: 'LL_MISSING_EXTENSION',
  /** A setter extension point got a second implementation. */
  DuplicateImplementation: 'LL_DUPLICATE_IMPLEMENTATION',
  /** A name (plugin, strategy, handler, variant…) does not exist; the message lists the known ones. */
  UnknownName: 'LL_UNKNOWN_NAME',
  /** Two plugins share an id. */
  DuplicatePluginId: 'LL_DUPLICATE_PLUGIN_ID',
  /** A plugin broke its contract (registered something it did not declare, or vice versa). */
  PluginContract: 'LL_PLUGIN_CONTRACT',
  /** A system or VM scope was used after disposal, or a VM id was reused. */
  Lifecycle: 'LL_LIFECYCLE',
  /** The entry point exists but the capability behind it is not built yet. */
  NotImplemented: 'LL_NOT_IMPLEMENTED',
  /** An argument to a library function is out of its documented domain. */
  InvalidArgument: 'LL_INVALID_ARGUMENT',
} as const;

/**
 * A stable error code: one of the kernel's {@link ErrorCodes}, or a package's own code. Package
 * codes follow the same `LL_<PACKAGE>_<WHAT>` shape (e.g. `LL_ACPI_NOT_ACPI`) and are exported
 * by that package as a constant.
 */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | `LL_${string}`;

export class LatelaunchError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Config validation failure; `issues` lists every problem with its dotted config path. */
export class ConfigError extends LatelaunchError {
  readonly issues: readonly { path: string; message: string }[];
  constructor(issues: readonly { path: string; message: string }[]) {
    super(ErrorCodes.ConfigInvalid, `invalid config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** A composition problem (missing or duplicate implementation, unknown name, duplicate id…). */
export class CompositionError extends LatelaunchError {}

/** Thrown by an entry point whose capability is not built yet; names the capability and its issue. */
export class NotImplementedError extends LatelaunchError {
  readonly feature: string;
  constructor(feature: string, detail?: string) {
    super(ErrorCodes.NotImplemented, `${feature} is not implemented yet${detail ? ` (${detail})` : ''}`);
    this.feature = feature;
  }
}

/** Out-of-domain argument to a library function. */
export class InvalidArgumentError extends LatelaunchError {
  constructor(message: string) {
    super(ErrorCodes.InvalidArgument, message);
  }
}

/** `unknown name 'x' for <what>; known: a, b, c` — the one format used for every by-name lookup. */
export function unknownNameError(what: string, name: string, known: readonly string[]): CompositionError {
  const list = known.length ? [...known].sort().join(', ') : '(none registered)';
  return new CompositionError(ErrorCodes.UnknownName, `unknown ${what} '${name}'; known: ${list}`);
}

export function isLatelaunchError(e: unknown): e is LatelaunchError {
  return e instanceof LatelaunchError;
}
