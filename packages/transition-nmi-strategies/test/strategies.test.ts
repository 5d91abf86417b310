import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeSystem, ErrorCodes, Tokens } from '@latelaunch/kernel';
import { runReadmeExample } from '../../../tooling/readme-example.ts';
import { allStrategyPlugins, idtSwapStrategyPlugin, TransitionStrategy } from '../src/index.js';

describe('strategy plugins', () => {
  it('compose, and the active one is selected by name', () => {
    const sys = composeSystem({ plugins: [...allStrategyPlugins], config: { nmiStrategy: 'idt-swap' } });
    expect(sys.resolve(Tokens.ActiveNmiStrategy)).toBeInstanceOf(TransitionStrategy);
    expect(sys.resolve(Tokens.ActiveNmiStrategy).name).toBe('idt-swap');
    expect(sys.resolveAll(Tokens.NmiInhibitionStrategy).map((s) => s.name)).toEqual(['none', 'idt-swap', 'temp-idt']);
    expect(idtSwapStrategyPlugin.id).toBe('transition-nmi-strategies.idt-swap');
  });

  it('do not pretend to emit transition code yet', () => {
    const s = composeSystem({ plugins: [...allStrategyPlugins], config: { nmiStrategy: 'none' } }).resolve(Tokens.ActiveNmiStrategy) as TransitionStrategy;
    expect(() => s.emitTransition()).toThrow(expect.objectContaining({ code: ErrorCodes.NotImplemented }));
  });

  it('README example runs as documented', async () => {
    const { logged, expected } = await runReadmeExample(join(dirname(fileURLToPath(import.meta.url)), '..'));
    expect(logged).toEqual(expected);
  });
});
