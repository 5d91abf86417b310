import { Command, CommanderError, InvalidArgumentError as CommanderArgError, Option } from 'commander';
import { isLatelaunchError, NotImplementedError } from '@latelaunch/kernel';
import { pluginCatalog, unfilledPoints, variants } from './catalog.js';
import { BootInputError, runBoot, type BootCommandOptions } from './boot.js';
import { RunInputError, runNoHypervisor, type RunCommandOptions } from './run.js';

/** Where the CLI writes. Tests pass buffers; bin.ts passes process streams. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** Exit codes of DESIGN §6: 0 success, 2 bad input or not-yet-built command, 124 budget exhausted. */
export const ExitCode = { Ok: 0, Failure: 1, BadInput: 2, BudgetExhausted: 124 } as const;

function intOption(min: number, max: number) {
  return (value: string): number => {
    if (!/^(0|[1-9][0-9]*|0x[0-9a-fA-F]+)$/.test(value)) throw new CommanderArgError(`expected an integer, got '${value}'`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new CommanderArgError(`expected an integer in [${min}, ${max}], got '${value}'`);
    return n;
  };
}

/** Thrown inside action handlers to end the run with a code (and optionally one stderr line). */
class Exit extends Error {
  constructor(
    readonly code: number,
    readonly line?: string,
  ) {
    super(line ?? `exit ${code}`);
  }
}

function notYet(command: string, what: string): never {
  throw new Exit(ExitCode.BadInput, `latelaunch ${command}: not implemented yet (${new NotImplementedError(what).message})`);
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('latelaunch')
    .description('Late-launch hypervisor framework on a deterministic simulated x86 machine')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => {} })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);

  program
    .command('boot')
    .description('run a multiboot v1 kernel (ELF32) on the QEMU-compatible platform profile')
    .requiredOption('--kernel <file>', 'kernel ELF image')
    .option('--append <args>', 'kernel command line (multiboot cmdline)')
    .option('--cpus <n>', 'logical processors', intOption(1, 256), 1)
    .option('--memory <mib>', 'RAM in MiB', intOption(16, 1 << 20), 128)
    .option('--serial <file>', 'write the serial console here instead of stdout')
    .option('--max-instructions <n>', 'instruction budget (exit 124 when exhausted)', intOption(1, Number.MAX_SAFE_INTEGER))
    .option('--trace <file>', 'write the trace as JSON lines')
    .option('--json', 'print a JSON result object')
    .action((opts: BootCommandOptions) => {
      let code: number;
      try {
        code = runBoot(opts, io);
      } catch (e) {
        if (e instanceof BootInputError) throw new Exit(ExitCode.BadInput, e.message);
        throw e;
      }
      if (code !== ExitCode.Ok) throw new Exit(code);
    });

  program
    .command('run')
    .description('boot the root OS, late-launch the hypervisor under it, start guests, print a verified summary')
    .option('--no-hypervisor', 'boot the root OS only')
    .option('--variant <name>', 'hypervisor variant (see `latelaunch list variants`)', 'minimal')
    .option('--cpus <n>', 'logical processors', intOption(1, 256), 4)
    .option('--memory <mib>', 'RAM in MiB', intOption(16, 1 << 20), 1024)
    .option('--numa-nodes <n>', 'NUMA nodes', intOption(1, 64), 2)
    .addOption(new Option('--root-mode <mode>', 'root OS paging mode').choices(['long', 'pae', 'protected']).default('long'))
    .option('--nmi-strategy <name>', 'NMI-inhibition strategy (see `latelaunch list strategies`)')
    .option('--guests <n>', 'additional guest VMs', intOption(0, 64))
    .option('--acpi <dir>', 'use real ACPI tables from this directory (e.g. shared/acpi-corpus/<machine>)')
    .option('--seed <n>', 'seed for every random choice', intOption(0, Number.MAX_SAFE_INTEGER), 0)
    .option('--json', 'print one JSON object')
    .option('--trace <file>', 'write the trace as JSON lines')
    .action((opts: RunCommandOptions & { variant: string; nmiStrategy?: string; hypervisor: boolean }, cmd: Command) => {
      if (!variants.some((v) => v.name === opts.variant)) {
        throw new Exit(ExitCode.BadInput, `latelaunch run: unknown variant '${opts.variant}'; known: ${variants.map((v) => v.name).join(', ')}`);
      }
      const strategies = pluginCatalog()
        .filter((e) => e.plugin.provides.includes('NmiInhibitionStrategy'))
        .map((e) => e.plugin.id.split('.').slice(1).join('.'));
      if (opts.nmiStrategy !== undefined && !strategies.includes(opts.nmiStrategy)) {
        throw new Exit(ExitCode.BadInput, `latelaunch run: unknown NMI strategy '${opts.nmiStrategy}'; known: ${strategies.sort().join(', ')}`);
      }
      if (opts.hypervisor) notYet('run', 'root OS and hypervisor (issues 4-8)');
      let code: number;
      try {
        code = runNoHypervisor({ ...opts, explicit: { cpus: cmd.getOptionValueSource('cpus') === 'cli', numaNodes: cmd.getOptionValueSource('numaNodes') === 'cli' } }, io);
      } catch (e) {
        if (e instanceof RunInputError) throw new Exit(ExitCode.BadInput, e.message);
        throw e;
      }
      if (code !== ExitCode.Ok) throw new Exit(code);
    });

  program
    .command('campaign')
    .description('inject an event at every instruction boundary of the transition and report which strategies survive')
    .requiredOption('--nmi-strategy <name>', "strategy name, or 'all'")
    .addOption(new Option('--inject <kind>', 'event to inject').choices(['nmi', 'intr']).default('nmi'))
    .option('--points <n|all>', "injection points: 'all' or a count", (v) => (v === 'all' ? v : intOption(1, Number.MAX_SAFE_INTEGER)(v)), 'all')
    .option('--json', 'print one JSON object')
    .option('--workers <n>', 'parallel workers', intOption(1, 64), 1)
    .action(() => notYet('campaign', 'transition campaigns (later issue)'));

  program
    .command('bench')
    .description('run the benchmarks and print their figures')
    .option('--json', 'print one JSON object')
    .action(() => notYet('bench', 'CLI benchmark runner; use `pnpm bench` for the per-package benchmarks'));

  program
    .command('list')
    .description('list plugins, variants and NMI strategies')
    .argument('[what]', 'plugins | variants | strategies (default: all three)')
    .option('--json', 'print one JSON object')
    .action((what: string | undefined, opts: { json?: boolean }) => {
      const kinds = ['plugins', 'variants', 'strategies'];
      if (what !== undefined && !kinds.includes(what)) {
        throw new Exit(ExitCode.BadInput, `latelaunch list: unknown list '${what}'; known: ${kinds.join(', ')}`);
      }
      const catalog = pluginCatalog();
      const plugins = catalog.map((e) => ({
        id: e.plugin.id,
        package: e.package,
        provides: [...e.plugin.provides],
        description: e.plugin.description ?? '',
        status: e.status,
        ...(e.missing ? { missing: e.missing } : {}),
      }));
      const strategies = catalog
        .filter((e) => e.plugin.provides.includes('NmiInhibitionStrategy'))
        .map((e) => ({ name: e.plugin.id.split('.').slice(1).join('.'), plugin: e.plugin.id, description: e.plugin.description ?? '', status: e.status }));
      const vs = variants.map((v) => {
        const missing = unfilledPoints(v, catalog);
        return { name: v.name, description: v.description, runnable: missing.length === 0, unfilledExtensionPoints: missing };
      });
      const all = { plugins, variants: vs, strategies } as Record<string, unknown[]>;
      const chosen = what ? { [what]: all[what] } : all;
      if (opts.json) {
        io.out(JSON.stringify(chosen, null, 2) + '\n');
        return;
      }
      const lines: string[] = [];
      if (chosen.plugins) {
        lines.push('plugins:');
        for (const p of plugins) lines.push(`  ${p.id.padEnd(42)} ${p.provides.join(',').padEnd(22)} ${p.status}${p.missing ? ` (missing: ${p.missing})` : ''}`);
      }
      if (chosen.variants) {
        lines.push('variants:');
        for (const v of vs) lines.push(`  ${v.name.padEnd(14)} ${v.description}${v.runnable ? '' : ` [not runnable yet: needs ${v.unfilledExtensionPoints.join(', ')}]`}`);
      }
      if (chosen.strategies) {
        lines.push('strategies:');
        for (const s of strategies) lines.push(`  ${s.name.padEnd(10)} ${s.description}`);
      }
      io.out(lines.join('\n') + '\n');
    });

  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => {} });
  return program;
}

/** Runs the CLI; never throws, never exits the process: returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (e) {
    if (e instanceof Exit) {
      if (e.line) io.err(e.line + '\n');
      return e.code;
    }
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.Ok;
      // Commander messages start with "error: "; one line, prefixed with the program name.
      io.err(`latelaunch: ${e.message.replace(/^error: /, '').split('\n')[0]}\n`);
      return ExitCode.BadInput;
    }
    if (isLatelaunchError(e)) {
      io.err(`latelaunch: ${e.message.split('\n')[0]} [${e.code}]\n`);
      return ExitCode.BadInput;
    }
    io.err(`latelaunch: internal error: ${(e as Error)?.stack?.split('\n')[0] ?? String(e)}\n`);
    return ExitCode.Failure;
  }
}
