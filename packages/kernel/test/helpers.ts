import { inject, injectable, Lifecycle, type DependencyContainer } from 'tsyringe';
import { definePlugin, Tokens, type Machine, type NmiInhibitionStrategy, type ExitHandler, type TraceBus } from '../src/index.js';

export const MachineToken = Tokens.Machine;

@injectable()
export class FakeMachine implements Machine {
  readonly name = 'fake';
  constructor(@inject(Tokens.TraceBus) readonly trace: TraceBus) {}
  get cpuCount(): number {
    return 1;
  }
}

export const machinePlugin = definePlugin({
  id: 'test.machine',
  provides: ['Machine'],
  register(c: DependencyContainer) {
    c.register(Tokens.Machine, { useClass: FakeMachine }, { lifecycle: Lifecycle.Singleton });
  },
});

export const otherMachinePlugin = definePlugin({
  id: 'test.other-machine',
  provides: ['Machine'],
  register(c: DependencyContainer) {
    c.register(Tokens.Machine, { useClass: FakeMachine }, { lifecycle: Lifecycle.Singleton });
  },
});

export function strategy(name: string) {
  const s: NmiInhibitionStrategy = { name, description: `strategy ${name}` };
  return definePlugin({
    id: `test.strategy-${name}`,
    provides: ['NmiInhibitionStrategy'],
    register(c: DependencyContainer) {
      c.register(Tokens.NmiInhibitionStrategy, { useValue: s });
    },
  });
}

export function exitHandler(name: string, reasons: number[]) {
  const h: ExitHandler = { name, exitReasons: reasons };
  return definePlugin({
    id: `test.exit-${name}`,
    provides: ['ExitHandler'],
    register(c: DependencyContainer) {
      c.register(Tokens.ExitHandler, { useValue: h });
    },
  });
}
