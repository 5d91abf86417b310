import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');

describe('built output (dist/)', () => {
  it('keeps decorator metadata: injection by type works in tsc-emitted JavaScript', async () => {
    const out = mkdtempSync(join(pkg, 'test', 'fixtures', 'dist-injection', '.out-'));
    try {
      const tsconfig = join(out, 'tsconfig.json');
      writeFileSync(
        tsconfig,
        JSON.stringify({
          extends: resolve(pkg, '../../tooling/tsconfig.base.json'),
          compilerOptions: { outDir: out, rootDir: join(pkg, 'test/fixtures/dist-injection'), declaration: false, declarationMap: false, sourceMap: false },
          files: [join(pkg, 'test/fixtures/dist-injection/plugin.ts')],
        }),
      );
      const tsc = createRequire(join(pkg, 'package.json')).resolve('typescript/bin/tsc');
      execFileSync(process.execPath, [tsc, '-p', tsconfig], { stdio: 'pipe' });
      const js = readFileSync(join(out, 'plugin.js'), 'utf8');
      expect(js).toContain('design:paramtypes');

      // Load the emitted JS (it self-references @latelaunch/kernel through the package's exports) and the kernel's own dist (not src) and compose with them.
      const kernelDist = await import(pathToFileURL(join(pkg, 'dist/index.js')).href);
      const fixture = await import(pathToFileURL(join(out, 'plugin.js')).href);
      const sys = kernelDist.composeSystem({ plugins: [fixture.distMachinePlugin], requires: ['Machine'] });
      const m = sys.resolve(kernelDist.Tokens.Machine);
      expect(m).toBeInstanceOf(fixture.DistMachine);
      expect(m.scheduler).toBeInstanceOf(fixture.Scheduler);
      expect(m.clock).toBeInstanceOf(fixture.Clock);
      expect(m.scheduler.clock).toBe(m.clock); // registered singleton shared by both paths
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
