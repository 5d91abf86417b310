import { z } from 'zod';
import { ConfigError } from './errors.js';

/** Machine shape (DESIGN §4). Defaults are the "default machine": 4 CPUs, 2 NUMA nodes, 1 GiB. */
export const MachineConfigSchema = z
  .object({
    cpus: z.number().int().min(1).max(256).default(4),
    /** Hot-pluggable processors beyond `cpus` (disabled MADT entries). */
    possibleCpus: z.number().int().min(1).max(512).optional(),
    hyperThreading: z.boolean().default(false),
    memoryMiB: z.number().int().min(16).max(1 << 20).default(1024),
    numaNodes: z.number().int().min(1).max(64).default(2),
  })
  .strict()
  .refine((m) => m.possibleCpus === undefined || m.possibleCpus >= m.cpus, {
    message: 'possibleCpus must be at least cpus',
    path: ['possibleCpus'],
  });

export const SystemConfigSchema = z
  .object({
    /** Seed for every random choice in the run. */
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    machine: MachineConfigSchema.default(() => MachineConfigSchema.parse({})),
    rootMode: z.enum(['long', 'pae', 'protected']).default('long'),
    /** Name of the active NMI-inhibition strategy (selected among the registered ones). */
    nmiStrategy: z.string().min(1).optional(),
    /** Names of the exit handlers to enable; all registered ones when absent. */
    exitHandlers: z.array(z.string().min(1)).optional(),
    /** Names of the devices to enable; all registered ones when absent. */
    devices: z.array(z.string().min(1)).optional(),
    guests: z.number().int().min(0).max(64).default(1),
    /** Per-plugin options, keyed by plugin id; validated by each plugin's own schema. */
    plugins: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type SystemConfig = z.output<typeof SystemConfigSchema>;
export type SystemConfigInput = z.input<typeof SystemConfigSchema>;
export type MachineConfig = z.output<typeof MachineConfigSchema>;

/** Turns zod issues into `{ path, message }` with dotted paths rooted at `root`. */
export function zodIssues(error: z.ZodError, root: string): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: [root, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].join('.').replace(/\.\[/g, '['),
    message: issue.message,
  }));
}

/** Validates and fills defaults; throws one {@link ConfigError} listing every problem with its path. */
export function parseConfig(input: unknown): SystemConfig {
  const result = SystemConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(zodIssues(result.error, 'config'));
  return result.data;
}
