// Runs the first ```ts block of a package README as an ES module from inside the package (so its
// `import '@latelaunch/<pkg>'` resolves to the built dist/), and returns what it logged next to
// what its `// comment` annotations promise, one per console.log line.
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { vi } from 'vitest';

export async function runReadmeExample(pkgDir: string): Promise<{ logged: string[]; expected: string[] }> {
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error(`${pkgDir}/README.md has no \`\`\`ts example`);
  const code = m[1];
  const expected = [...code.matchAll(/console\.log\(.*\/\/ (.+)$/gm)].map((x) => x[1].trim());
  const file = join(pkgDir, 'test', `.readme-example-${process.pid}-${Date.now()}.mjs`);
  writeFileSync(file, code);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import(pathToFileURL(file).href);
    return { logged: log.mock.calls.map((c) => c.map(String).join(' ')), expected };
  } finally {
    log.mockRestore();
    rmSync(file, { force: true });
  }
}
