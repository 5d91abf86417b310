import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, NotImplementedError } from '@latelaunch/kernel';
import { runReadmeExample } from '../../../tooling/readme-example.ts';
import { createLocalApic } from '../src/index.js';

describe('@latelaunch/apic (not built yet)', () => {
  it('says so with a typed error instead of pretending', () => {
    expect(() => createLocalApic()).toThrowError(NotImplementedError);
    try {
      createLocalApic();
    } catch (e) {
      expect((e as NotImplementedError).code).toBe(ErrorCodes.NotImplemented);
      expect((e as Error).message).toContain('createLocalApic');
    }
  });

  it('README example runs as documented', async () => {
    const { logged, expected } = await runReadmeExample(join(dirname(fileURLToPath(import.meta.url)), '..'));
    expect(logged).toEqual(expected);
  });
});
