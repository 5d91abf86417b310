#!/bin/sh
# `pnpm latelaunch ARGS`: builds the CLI and what it depends on (turbo-cached, quiet on success),
# then runs it with ARGS. Build errors go to stderr.
here=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
if ! (cd "$here" && TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --filter=@latelaunch/cli... --output-logs=errors-only >"$log" 2>&1); then
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
exec node "$here/apps/cli/dist/bin.js" "$@"
