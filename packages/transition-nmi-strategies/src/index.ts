import type { DependencyContainer } from 'tsyringe';
import { definePlugin, NotImplementedError, Tokens, type NmiInhibitionStrategy } from '@latelaunch/kernel';

/**
 * An NMI-inhibition strategy for the late-launch transition (DESIGN §1 step 3).
 * The metadata is final; `emitTransition` (the x86 code each strategy contributes) is built in
 * the transition issue and throws `NotImplementedError` until then.
 */
export class TransitionStrategy implements NmiInhibitionStrategy {
  constructor(
    readonly name: string,
    readonly description: string,
  ) {}

  emitTransition(): never {
    throw new NotImplementedError(`NMI strategy '${this.name}' transition code`, 'the transition is built in a later issue');
  }
}

function strategyPlugin(name: string, description: string) {
  return definePlugin({
    id: `transition-nmi-strategies.${name}`,
    provides: ['NmiInhibitionStrategy'],
    description,
    register(container: DependencyContainer) {
      container.register(Tokens.NmiInhibitionStrategy, { useValue: new TransitionStrategy(name, description) });
    },
  });
}

/** Baseline: no NMI protection during the transition (shows the hazard the others remove). */
export const noneStrategyPlugin = strategyPlugin('none', 'baseline: NMIs stay actionable during the transition');
/** IDT swap + self-NMI: NMIs blocked by an NMI whose handler returns without IRET. */
export const idtSwapStrategyPlugin = strategyPlugin(
  'idt-swap',
  "point the OS IDT's NMI vector at a handler that restores the entry and returns without IRET; send a self-NMI so NMIs stay blocked",
);
/** Temporary IDT and stack valid throughout the transition. */
export const tempIdtStrategyPlugin = strategyPlugin(
  'temp-idt',
  'run the transition with a temporary IDT, NMI handler and stack mapped at their original virtual addresses',
);

export const allStrategyPlugins = [noneStrategyPlugin, idtSwapStrategyPlugin, tempIdtStrategyPlugin] as const;
