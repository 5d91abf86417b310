/**
 * Runs the decoder example of the README (the ```ts block under "## Example" that calls
 * decode()) against the built dist/, and checks it prints what its `// comments` say.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('README decoder example', () => {
  it('runs and prints what its comments say', async () => {
    const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    const code = blocks.find((b) => b.includes('new DecodedInstruction()') && b.includes('console.log'));
    expect(code, 'README has the decoder example').toBeDefined();
    const expected = [...code!.matchAll(/console\.log\(.*\/\/ (.+)$/gm)].map((x) => x[1].trim());
    const file = join(pkgDir, 'test', `.readme-decode-${process.pid}-${Date.now()}.mjs`);
    writeFileSync(file, code!);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await import(pathToFileURL(file).href);
      const logged = log.mock.calls.map((c) => c.map(String).join(' '));
      expect(expected.length).toBeGreaterThan(0);
      expect(logged).toEqual(expected);
    } finally {
      log.mockRestore();
      rmSync(file, { force: true });
    }
  });
});
