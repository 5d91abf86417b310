import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '../../../tooling/readme-example.ts';

describe('README example', () => {
  it('runs and prints what its comments say', async () => {
    const { logged, expected } = await runReadmeExample(join(dirname(fileURLToPath(import.meta.url)), '..'));
    expect(expected.length).toBeGreaterThan(8);
    expect(logged).toEqual(expected);
  });
});
