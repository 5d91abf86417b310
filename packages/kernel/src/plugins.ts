import type { DependencyContainer } from 'tsyringe';
import { definePlugin } from './plugin.js';
import { Tokens } from './tokens.js';
import { JsonLinesSink } from './trace.js';

/**
 * `kernel.trace-jsonl`: writes every trace record as a JSON line through `writeLine`
 * (the CLI passes a file stream's write; tests pass an array push).
 */
export function traceSinkPlugin(writeLine: (line: string) => void) {
  return definePlugin({
    id: 'kernel.trace-jsonl',
    provides: ['TraceSink'],
    description: 'JSON-lines trace sink',
    register(container: DependencyContainer) {
      container.register(Tokens.TraceSink, { useValue: new JsonLinesSink(writeLine) });
    },
  });
}
