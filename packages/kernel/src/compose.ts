import { container as globalContainer, type DependencyContainer, type InjectionToken } from 'tsyringe';
import { parseConfig, zodIssues, type SystemConfig } from './config.js';
import { CompositionError, ConfigError, ErrorCodes, LatelaunchError, unknownNameError } from './errors.js';
import type { Named } from './extension-points.js';
import { ExtensionPoints, type ExtensionPointDescriptor, type ExtensionPointId, type Plugin } from './plugin.js';
import { Rng } from './rng.js';
import { Tokens, type Token } from './tokens.js';
import { TraceBus, type TraceSink } from './trace.js';

export interface ComposeOptions {
  readonly plugins: readonly Plugin[];
  /** Raw config; validated here (defaults filled, every problem reported with its path). */
  readonly config?: unknown;
  /** Extension points the caller (a variant, the CLI) needs filled, in addition to the plugins' own `requires`. */
  readonly requires?: readonly ExtensionPointId[];
  /** Use an existing trace bus (the CLI attaches its sinks before composing). */
  readonly trace?: TraceBus;
}

const tokenToPoint = new Map<symbol, ExtensionPointId>(
  (Object.entries(ExtensionPoints) as [ExtensionPointId, ExtensionPointDescriptor][]).map(([id, d]) => [d.token, id]),
);

const REGISTER_METHODS = new Set(['register', 'registerSingleton', 'registerInstance', 'registerType']);

/** Wraps a container so every registration is recorded against the plugin that made it. */
function recordingContainer(target: DependencyContainer, onRegister: (token: InjectionToken<unknown>) => void): DependencyContainer {
  const proxy: DependencyContainer = new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof prop === 'string' && REGISTER_METHODS.has(prop) && typeof value === 'function') {
        return (token: InjectionToken<unknown>, ...rest: unknown[]) => {
          onRegister(token);
          (value as (...a: unknown[]) => unknown).call(t, token, ...rest);
          return proxy;
        };
      }
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
  return proxy;
}

/**
 * Validates the config, registers the plugins in a fresh container, checks every extension
 * point's cardinality and requirements, resolves the by-name selections, and returns the system.
 * Throws {@link ConfigError} or {@link CompositionError}; on error nothing is left registered
 * anywhere (the container is private to this call).
 */
export function composeSystem(options: ComposeOptions): System {
  const config = parseConfig(options.config);
  const plugins = options.plugins;

  // Plugin ids are unique.
  const byId = new Map<string, Plugin>();
  for (const p of plugins) {
    if (byId.has(p.id)) throw new CompositionError(ErrorCodes.DuplicatePluginId, `duplicate plugin id '${p.id}'`);
    byId.set(p.id, p);
  }

  // Per-plugin options: known ids only, each validated by its plugin's schema.
  const pluginOptions: Record<string, unknown> = {};
  for (const [id, raw] of Object.entries(config.plugins)) {
    const plugin = byId.get(id);
    if (!plugin) throw unknownNameError('plugin', id, [...byId.keys()]);
    if (plugin.configSchema) {
      const r = plugin.configSchema.safeParse(raw);
      if (!r.success) throw new ConfigError(zodIssues(r.error, `config.plugins.${id}`));
      pluginOptions[id] = r.data;
    } else pluginOptions[id] = raw;
  }
  for (const p of plugins) {
    if (p.configSchema && !(p.id in pluginOptions)) {
      const r = p.configSchema.safeParse({}); // absent options are an empty object
      if (!r.success) throw new ConfigError(zodIssues(r.error, `config.plugins.${p.id}`));
      pluginOptions[p.id] = r.data;
    }
  }
  const finalConfig: SystemConfig = Object.freeze({ ...config, plugins: pluginOptions }) as SystemConfig;

  // Setter points: at most one provider, decided from the declarations before anything runs.
  const providers = new Map<ExtensionPointId, string[]>();
  for (const p of plugins) {
    for (const point of new Set(p.provides)) {
      if (!(point in ExtensionPoints)) {
        throw unknownNameError(`extension point (in plugin '${p.id}')`, point, Object.keys(ExtensionPoints));
      }
      const list = providers.get(point) ?? [];
      list.push(p.id);
      providers.set(point, list);
    }
  }
  for (const [point, ids] of providers) {
    if (ExtensionPoints[point].cardinality === 'setter' && ids.length > 1) {
      throw new CompositionError(
        ErrorCodes.DuplicateImplementation,
        `extension point '${point}' takes exactly one implementation, but several plugins provide it: ${ids.map((i) => `'${i}'`).join(', ')}`,
      );
    }
  }

  // Requirements.
  const required = new Map<ExtensionPointId, string>();
  for (const r of options.requires ?? []) required.set(r, 'the composition');
  for (const p of plugins) for (const r of p.requires ?? []) if (!required.has(r)) required.set(r, `plugin '${p.id}'`);
  for (const [point, by] of required) {
    if (!providers.has(point)) {
      throw new CompositionError(
        ErrorCodes.MissingExtension,
        `extension point '${point}' is required by ${by} but no plugin provides it (plugins: ${plugins.map((p) => p.id).join(', ') || 'none'})`,
      );
    }
  }

  // Register. Each plugin's registrations are recorded and checked against its declaration.
  const root = globalContainer.createChildContainer();
  const trace = options.trace ?? new TraceBus();
  const rng = new Rng(finalConfig.seed);
  root.registerInstance(Tokens.Config, finalConfig);
  root.registerInstance(Tokens.TraceBus, trace);
  root.registerInstance(Tokens.Rng, rng);
  for (const p of plugins) {
    const registered = new Set<ExtensionPointId>();
    const proxy = recordingContainer(root, (token) => {
      const point = typeof token === 'symbol' ? tokenToPoint.get(token) : undefined;
      if (point) registered.add(point);
    });
    try {
      p.register(proxy, finalConfig);
    } catch (e) {
      if (e instanceof LatelaunchError) throw e;
      throw new CompositionError(ErrorCodes.PluginContract, `plugin '${p.id}' failed to register: ${(e as Error)?.message ?? e}`, { cause: e });
    }
    for (const point of p.provides) {
      if (!registered.has(point)) {
        throw new CompositionError(ErrorCodes.PluginContract, `plugin '${p.id}' declares '${point}' but registered nothing for it`);
      }
    }
    for (const point of registered) {
      if (!p.provides.includes(point)) {
        throw new CompositionError(ErrorCodes.PluginContract, `plugin '${p.id}' registered '${point}' without declaring it in 'provides'`);
      }
    }
  }

  // By-name selections on multi points.
  for (const [point, d] of Object.entries(ExtensionPoints) as [ExtensionPointId, ExtensionPointDescriptor][]) {
    if (d.cardinality !== 'multi') continue;
    const items = root.isRegistered(d.token) ? (root.resolveAll(d.token) as Named[]) : [];
    const names = items.map((i) => i.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) {
      throw new CompositionError(ErrorCodes.DuplicateImplementation, `two contributions to '${point}' share the name '${dup}'`);
    }
    if (!d.selection) continue;
    const wanted = finalConfig[d.selection.configKey] as string | string[] | undefined;
    if (d.selection.mode === 'one') {
      let chosen: Named | undefined;
      if (wanted !== undefined) {
        chosen = items.find((i) => i.name === wanted);
        if (!chosen) throw unknownNameError(`${point} (config.${d.selection.configKey})`, wanted as string, names);
      } else if (items.length === 1) chosen = items[0];
      else if (items.length > 1) {
        throw new CompositionError(
          ErrorCodes.DuplicateImplementation,
          `several ${point} contributions are registered (${names.join(', ')}); choose one with config.${d.selection.configKey}`,
        );
      }
      if (chosen) root.registerInstance(d.selection.token, chosen);
    } else {
      let chosen = items;
      if (wanted !== undefined) {
        chosen = (wanted as string[]).map((w) => {
          const found = items.find((i) => i.name === w);
          if (!found) throw unknownNameError(`${point} (config.${d.selection!.configKey})`, w, names);
          return found;
        });
      }
      root.registerInstance(d.selection.token, Object.freeze([...chosen]));
    }
  }

  if (root.isRegistered(Tokens.TraceSink)) for (const sink of root.resolveAll(Tokens.TraceSink) as TraceSink[]) trace.attach(sink);
  const system = new System(root, finalConfig, trace, rng, plugins);
  trace.emit('system.composed', { plugins: plugins.map((p) => p.id) });
  return system;
}

/** A composed system: the root container, config, trace bus, RNG and the VMs' scopes. */
export class System {
  private readonly scopes = new Map<string, VmScope>();
  private disposed = false;

  constructor(
    readonly container: DependencyContainer,
    readonly config: SystemConfig,
    readonly trace: TraceBus,
    readonly rng: Rng,
    readonly plugins: readonly Plugin[],
  ) {}

  resolve<T>(token: Token<T>): T {
    this.assertLive();
    return this.container.resolve<T>(token);
  }

  resolveAll<T>(token: Token<T>): T[] {
    this.assertLive();
    return this.container.isRegistered(token, true) ? this.container.resolveAll<T>(token) : [];
  }

  isProvided(point: ExtensionPointId): boolean {
    return this.container.isRegistered(ExtensionPoints[point].token, true);
  }

  /**
   * Creates the child container of one VM: `Tokens.VmId` is bound there, every plugin's
   * `registerVm` runs, and registrations made with `Lifecycle.ContainerScoped` in the root
   * resolve to one instance per VM.
   */
  createVmScope(vmId: string): VmScope {
    this.assertLive();
    if (!/^[A-Za-z0-9_.-]+$/.test(vmId)) throw new CompositionError(ErrorCodes.InvalidArgument, `invalid VM id '${vmId}'`);
    if (this.scopes.has(vmId)) throw new CompositionError(ErrorCodes.Lifecycle, `VM '${vmId}' already exists`);
    const child = this.container.createChildContainer();
    child.registerInstance(Tokens.VmId, vmId);
    for (const p of this.plugins) p.registerVm?.(child, this.config, vmId);
    const scope = new VmScope(vmId, child, () => {
      this.scopes.delete(vmId);
      this.trace.emit('vm.disposed', { vmId });
    });
    this.scopes.set(vmId, scope);
    this.trace.emit('vm.created', { vmId });
    return scope;
  }

  vm(vmId: string): VmScope {
    const s = this.scopes.get(vmId);
    if (!s) throw unknownNameError('VM', vmId, [...this.scopes.keys()]);
    return s;
  }

  get vmIds(): string[] {
    return [...this.scopes.keys()];
  }

  /** Disposes every VM scope, then the root container (instances with `dispose()` are disposed). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    for (const s of [...this.scopes.values()]) await s.dispose();
    this.disposed = true;
    await this.container.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new CompositionError(ErrorCodes.Lifecycle, 'system is disposed');
  }
}

/** One VM's child container. Disposal disposes its container-scoped instances and forgets the VM. */
export class VmScope {
  private disposed = false;
  constructor(
    readonly id: string,
    readonly container: DependencyContainer,
    private readonly onDispose: () => void,
  ) {}

  get isDisposed(): boolean {
    return this.disposed;
  }

  resolve<T>(token: Token<T>): T {
    if (this.disposed) throw new CompositionError(ErrorCodes.Lifecycle, `VM '${this.id}' is disposed`);
    return this.container.resolve<T>(token);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.container.dispose();
    this.onDispose();
  }
}
