// Shared vitest preset: every package's vitest.config.ts spreads this.
// reflect-metadata is loaded before any test so tsyringe decorators work on source and dist alike.
import { fileURLToPath } from 'node:url';
import type { ViteUserConfig } from 'vitest/config';

const setup = fileURLToPath(new URL('./vitest.setup.ts', import.meta.url));

export const vitestPreset: ViteUserConfig = {
  // Test files are outside each package's tsconfig `include`, so Vite would not see
  // experimentalDecorators there: turn legacy decorators + metadata on explicitly.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    setupFiles: [setup],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'threads',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
};
