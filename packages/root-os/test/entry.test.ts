import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, NotImplementedError } from '@latelaunch/kernel';
import { runReadmeExample } from '../../../tooling/readme-example.ts';
import { buildRootOsImage } from '../src/index.js';

describe('@latelaunch/root-os (not built yet)', () => {
  it('says so with a typed error instead of pretending', () => {
    expect(() => buildRootOsImage()).toThrowError(NotImplementedError);
    try {
      buildRootOsImage();
    } catch (e) {
      expect((e as NotImplementedError).code).toBe(ErrorCodes.NotImplemented);
      expect((e as Error).message).toContain('buildRootOsImage');
    }
  });

  it('README example runs as documented', async () => {
    const { logged, expected } = await runReadmeExample(join(dirname(fileURLToPath(import.meta.url)), '..'));
    expect(logged).toEqual(expected);
  });
});
