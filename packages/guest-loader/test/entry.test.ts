import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, NotImplementedError } from '@latelaunch/kernel';
import { runReadmeExample } from '../../../tooling/readme-example.ts';
import { loadGuest } from '../src/index.js';

describe('@latelaunch/guest-loader (not built yet)', () => {
  it('says so with a typed error instead of pretending', () => {
    expect(() => loadGuest()).toThrowError(NotImplementedError);
    try {
      loadGuest();
    } catch (e) {
      expect((e as NotImplementedError).code).toBe(ErrorCodes.NotImplemented);
      expect((e as Error).message).toContain('loadGuest');
    }
  });

  it('README example runs as documented', async () => {
    const { logged, expected } = await runReadmeExample(join(dirname(fileURLToPath(import.meta.url)), '..'));
    expect(logged).toEqual(expected);
  });
});
