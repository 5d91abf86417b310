import { describe, expect, it } from 'vitest';
import { inject, injectable, Lifecycle, type DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import {
  composeSystem,
  CompositionError,
  ConfigError,
  definePlugin,
  ErrorCodes,
  LatelaunchError,
  MemorySink,
  Tokens,
  TraceBus,
  type Plugin,
} from '../src/index.js';
import { exitHandler, FakeMachine, machinePlugin, otherMachinePlugin, strategy } from './helpers.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LatelaunchError);
    return `${(e as LatelaunchError).code}: ${(e as Error).message}`;
  }
  throw new Error('expected an error');
}

describe('composeSystem', () => {
  it('composes plugins and injects kernel services through @inject tokens', () => {
    const sys = composeSystem({ plugins: [machinePlugin], requires: ['Machine'] });
    const m = sys.resolve(Tokens.Machine) as FakeMachine;
    expect(m).toBeInstanceOf(FakeMachine);
    expect(m.trace).toBe(sys.trace);
    expect(sys.resolve(Tokens.Machine)).toBe(m); // singleton
    expect(sys.config.machine).toEqual({ cpus: 4, hyperThreading: false, memoryMiB: 1024, numaNodes: 2 });
    expect(sys.isProvided('Machine')).toBe(true);
    expect(sys.isProvided('Firmware')).toBe(false);
  });

  it('reports a missing required extension point with who needs it', () => {
    const needy = definePlugin({ id: 'test.needy', provides: [], requires: ['Firmware'], register() {} });
    const msg = codeOf(() => composeSystem({ plugins: [machinePlugin, needy] }));
    expect(msg).toBe(
      `${ErrorCodes.MissingExtension}: extension point 'Firmware' is required by plugin 'test.needy' but no plugin provides it (plugins: test.machine, test.needy)`,
    );
    expect(codeOf(() => composeSystem({ plugins: [], requires: ['Machine'] }))).toContain("'Machine' is required by the composition");
  });

  it('refuses a second implementation of a setter point and names both plugins', () => {
    const msg = codeOf(() => composeSystem({ plugins: [machinePlugin, otherMachinePlugin] }));
    expect(msg).toBe(
      `${ErrorCodes.DuplicateImplementation}: extension point 'Machine' takes exactly one implementation, but several plugins provide it: 'test.machine', 'test.other-machine'`,
    );
  });

  it('refuses duplicate plugin ids', () => {
    expect(codeOf(() => composeSystem({ plugins: [machinePlugin, machinePlugin] }))).toBe(
      `${ErrorCodes.DuplicatePluginId}: duplicate plugin id 'test.machine'`,
    );
  });

  it('selects the active NMI strategy by name and lists the known ones for an unknown name', () => {
    const plugins = [strategy('none'), strategy('idt-swap'), strategy('temp-idt')];
    const sys = composeSystem({ plugins, config: { nmiStrategy: 'temp-idt' } });
    expect(sys.resolve(Tokens.ActiveNmiStrategy).name).toBe('temp-idt');
    expect(sys.resolveAll(Tokens.NmiInhibitionStrategy).map((s) => s.name)).toEqual(['none', 'idt-swap', 'temp-idt']);
    expect(codeOf(() => composeSystem({ plugins, config: { nmiStrategy: 'idt-swop' } }))).toBe(
      `${ErrorCodes.UnknownName}: unknown NmiInhibitionStrategy (config.nmiStrategy) 'idt-swop'; known: idt-swap, none, temp-idt`,
    );
    // Several registered and none chosen: an error that lists them, not an arbitrary pick.
    expect(codeOf(() => composeSystem({ plugins }))).toContain('choose one with config.nmiStrategy');
    // Exactly one registered: it is the active one.
    expect(composeSystem({ plugins: [strategy('none')] }).resolve(Tokens.ActiveNmiStrategy).name).toBe('none');
  });

  it('enables exit handlers by name in config order; unknown names list the known ones', () => {
    const plugins = [exitHandler('cpuid', [10]), exitHandler('hlt', [12]), exitHandler('io', [30])];
    const all = composeSystem({ plugins });
    expect(all.resolve(Tokens.EnabledExitHandlers).map((h) => h.name)).toEqual(['cpuid', 'hlt', 'io']);
    const some = composeSystem({ plugins, config: { exitHandlers: ['io', 'cpuid'] } });
    expect(some.resolve(Tokens.EnabledExitHandlers).map((h) => h.name)).toEqual(['io', 'cpuid']);
    expect(codeOf(() => composeSystem({ plugins, config: { exitHandlers: ['cpuid', 'rdmsr'] } }))).toBe(
      `${ErrorCodes.UnknownName}: unknown ExitHandler (config.exitHandlers) 'rdmsr'; known: cpuid, hlt, io`,
    );
  });

  it('refuses two contributions with the same name on a multi point', () => {
    const a = strategy('x');
    const b = { ...strategy('x'), id: 'test.strategy-x2' };
    expect(codeOf(() => composeSystem({ plugins: [a, b], config: { nmiStrategy: 'x' } }))).toContain(
      "two contributions to 'NmiInhibitionStrategy' share the name 'x'",
    );
  });

  it('reports every invalid config value with its path, in one message', () => {
    let err: ConfigError | undefined;
    try {
      composeSystem({ plugins: [], config: { machine: { cpus: 0, memoryMiB: 'lots' }, rootMode: 'real', bogus: 1 } });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.code).toBe(ErrorCodes.ConfigInvalid);
    const paths = err!.issues.map((i) => i.path).sort();
    expect(paths).toEqual(['config', 'config.machine.cpus', 'config.machine.memoryMiB', 'config.rootMode']);
    expect(err!.message).toMatch(/^invalid config: /);
    expect(err!.message).toContain('config.machine.cpus: ');
    expect(err!.message).toContain('bogus');
    expect(err!.message.split('\n')).toHaveLength(1);
  });

  it('validates per-plugin options with the plugin schema and rejects options for unknown plugins', () => {
    const seen: unknown[] = [];
    const p = definePlugin({
      id: 'test.opts',
      provides: [],
      configSchema: z.object({ depth: z.number().int().max(8).default(2) }).strict(),
      register(_c: DependencyContainer, config) {
        seen.push(config.plugins['test.opts']);
      },
    });
    composeSystem({ plugins: [p] });
    composeSystem({ plugins: [p], config: { plugins: { 'test.opts': { depth: 5 } } } });
    expect(seen).toEqual([{ depth: 2 }, { depth: 5 }]);
    expect(codeOf(() => composeSystem({ plugins: [p], config: { plugins: { 'test.opts': { depth: 9 } } } }))).toContain(
      'config.plugins.test.opts.depth: ',
    );
    expect(codeOf(() => composeSystem({ plugins: [p], config: { plugins: { 'test.optz': {} } } }))).toBe(
      `${ErrorCodes.UnknownName}: unknown plugin 'test.optz'; known: test.opts`,
    );
  });

  it('holds plugins to their declared provides', () => {
    const liar = definePlugin({ id: 'test.liar', provides: ['Firmware'], register() {} });
    expect(codeOf(() => composeSystem({ plugins: [liar] }))).toBe(
      `${ErrorCodes.PluginContract}: plugin 'test.liar' declares 'Firmware' but registered nothing for it`,
    );
    const sneaky = definePlugin({
      id: 'test.sneaky',
      provides: [],
      register(c: DependencyContainer) {
        c.register(Tokens.Machine, { useClass: FakeMachine });
      },
    });
    expect(codeOf(() => composeSystem({ plugins: [sneaky] }))).toContain("registered 'Machine' without declaring it");
    const thrower = definePlugin({
      id: 'test.thrower',
      provides: [],
      register() {
        throw new TypeError('boom');
      },
    });
    expect(codeOf(() => composeSystem({ plugins: [thrower] }))).toBe(`${ErrorCodes.PluginContract}: plugin 'test.thrower' failed to register: boom`);
  });

  it('rejects malformed plugin definitions early', () => {
    expect(() => definePlugin({ id: 'NoDot', provides: [], register() {} })).toThrow(/<package>\.<name>/);
    expect(() => definePlugin({ id: 'a.b', provides: ['Nope' as never], register() {} })).toThrow(/unknown extension point 'Nope'/);
  });

  it('keeps two systems isolated', () => {
    const a = composeSystem({ plugins: [machinePlugin] });
    const b = composeSystem({ plugins: [] });
    expect(a.isProvided('Machine')).toBe(true);
    expect(b.isProvided('Machine')).toBe(false);
  });

  it('emits system.composed on the bus it was given', () => {
    const trace = new TraceBus();
    const sink = new MemorySink();
    trace.attach(sink);
    composeSystem({ plugins: [machinePlugin], trace });
    expect(sink.records.map((r) => [r.kind, r.data])).toEqual([['system.composed', { plugins: ['test.machine'] }]]);
  });
});

// Module-level on purpose: decorated classes must sit at module scope for the test transform.
let disposed: string[] = [];

@injectable()
class VirtualApic {
  constructor(@inject(Tokens.VmId) readonly vmId: string) {}
  dispose(): void {
    disposed.push(this.vmId);
  }
}
const VirtualApicToken = Symbol.for('test.VirtualApic');

describe('VM scopes', () => {
  const perVm: Plugin = definePlugin({
    id: 'test.per-vm',
    provides: [],
    register(c: DependencyContainer) {
      c.register(VirtualApicToken, { useClass: VirtualApic }, { lifecycle: Lifecycle.ContainerScoped });
    },
    registerVm(c: DependencyContainer, _config, vmId: string) {
      c.registerInstance('vm-label', `label-${vmId}`);
    },
  });

  it('gives each VM its own instances and disposes them with the VM', async () => {
    disposed = [];
    const sys = composeSystem({ plugins: [perVm, machinePlugin] });
    const sink = new MemorySink();
    sys.trace.attach(sink);
    const vm0 = sys.createVmScope('root');
    const vm1 = sys.createVmScope('guest-1');
    const a0 = vm0.resolve<VirtualApic>(VirtualApicToken as never);
    const a1 = vm1.resolve<VirtualApic>(VirtualApicToken as never);
    expect(a0).not.toBe(a1);
    expect(a0.vmId).toBe('root');
    expect(a1.vmId).toBe('guest-1');
    expect(vm0.resolve<VirtualApic>(VirtualApicToken as never)).toBe(a0);
    expect(vm1.container.resolve('vm-label')).toBe('label-guest-1');
    // System-wide singletons are shared between VMs.
    expect(vm0.resolve(Tokens.Machine)).toBe(vm1.resolve(Tokens.Machine));
    expect(sys.vmIds).toEqual(['root', 'guest-1']);
    expect(() => sys.createVmScope('root')).toThrowError(CompositionError);

    await vm1.dispose();
    expect(disposed).toEqual(['guest-1']);
    expect(sys.vmIds).toEqual(['root']);
    expect(() => vm1.resolve(Tokens.Machine)).toThrow(/disposed/);
    expect(() => sys.vm('guest-1')).toThrow(/unknown VM 'guest-1'; known: root/);
    // The id can be reused after disposal.
    const again = sys.createVmScope('guest-1');
    expect(again.resolve<VirtualApic>(VirtualApicToken as never)).not.toBe(a1);

    await sys.dispose();
    expect(disposed.sort()).toEqual(['guest-1', 'guest-1', 'root']);
    expect(() => sys.resolve(Tokens.Machine)).toThrow(/system is disposed/);
    expect(sink.records.map((r) => `${r.kind}:${(r.data as { vmId: string }).vmId}`)).toEqual([
      'vm.created:root',
      'vm.created:guest-1',
      'vm.disposed:guest-1',
      'vm.created:guest-1',
      'vm.disposed:root',
      'vm.disposed:guest-1',
    ]);
  });

  it('rejects invalid VM ids', () => {
    const sys = composeSystem({ plugins: [] });
    expect(() => sys.createVmScope('a b')).toThrow(/invalid VM id/);
  });
});
