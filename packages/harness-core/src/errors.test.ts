import { describe, expect, it } from '@jest/globals';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CODES, EXIT_CODE_OF_KIND, codeOf, isErrorCode, InfraError } from './errors.js';

const packagesDir = new URL('../../', import.meta.url).pathname;

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const KIND_OF_CLASS = { InputError: 'input', InfraError: 'infra', RecipeError: 'recipe' } as const;

describe('ERROR_CODES', () => {
  it('every code has a meaning, a fix and a kind with an exit code', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect({ code, ok: /^[A-Z][A-Z_]+$/.test(code) }).toEqual({ code, ok: true });
      expect(info.means.length).toBeGreaterThan(10);
      expect(info.fix.length).toBeGreaterThan(10);
      expect(EXIT_CODE_OF_KIND[info.kind]).toBeGreaterThan(0);
    }
  });

  it('every construction site in packages/*/src throws its code with the class of its kind', async () => {
    const sites: Array<{ file: string; cls: string; code: string }> = [];
    for (const pkg of await readdir(packagesDir)) {
      const src = join(packagesDir, pkg, 'src');
      for (const file of await sourceFiles(src).catch(() => [])) {
        const text = await readFile(file, 'utf8');
        for (const m of text.matchAll(/new (InputError|InfraError|RecipeError)\(\s*'([A-Z_]+)'/g))
          sites.push({ file: file.slice(packagesDir.length), cls: m[1]!, code: m[2]! });
      }
    }
    expect(sites.length).toBeGreaterThan(40);
    const wrong = sites.filter(
      (s) =>
        !isErrorCode(s.code) ||
        ERROR_CODES[s.code].kind !== KIND_OF_CLASS[s.cls as keyof typeof KIND_OF_CLASS],
    );
    expect(wrong).toEqual([]);
  });

  it('codeOf names a cc-ci error by its code and anything else INTERNAL', () => {
    expect(codeOf(new InfraError('DOCKER_FAILED', 'x'))).toBe('DOCKER_FAILED');
    expect(codeOf(new Error('x'))).toBe('INTERNAL');
    expect(codeOf('x')).toBe('INTERNAL');
  });
});
