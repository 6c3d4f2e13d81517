/** The reference docs generated from the schemas must be current (run `npm run docs:generate`). */
import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';

describe('generated reference docs', () => {
  it('match what scripts/generate-docs.mjs renders from the current schemas', async () => {
    const { renderAll } = (await import('../../scripts/generate-docs.mjs')) as {
      renderAll: () => Record<string, string>;
    };
    for (const [path, text] of Object.entries(renderAll())) {
      const onDisk = await readFile(new URL(`../../${path}`, import.meta.url), 'utf8');
      expect({ path, text: onDisk }).toEqual({ path, text });
    }
  });
});
