/**
 * Canonical records: `<stateDir>/canonicals/<recipe>.json`, written atomically (temp + rename),
 * one per recipe: the last known-good released version kept warm on this host.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateRecipeName } from '../domain/naming.js';
import type { Canonical } from './decisions.js';

export interface CanonicalStore {
  get(recipe: string): Promise<Canonical | null>;
  put(c: Canonical): Promise<void>;
  remove(recipe: string): Promise<void>;
  list(): Promise<Canonical[]>;
}

export function canonicalStore(stateDir: string): CanonicalStore {
  const dir = join(stateDir, 'canonicals');
  const file = (recipe: string) => {
    validateRecipeName(recipe);
    return join(dir, `${recipe}.json`);
  };
  const get = async (recipe: string): Promise<Canonical | null> => {
    try {
      return JSON.parse(await readFile(file(recipe), 'utf8')) as Canonical;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
  return {
    get,
    async put(c) {
      await mkdir(dir, { recursive: true });
      const tmp = `${file(c.recipe)}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(c, null, 2) + '\n');
      await rename(tmp, file(c.recipe));
    },
    async remove(recipe) {
      await rm(file(recipe), { force: true });
    },
    async list() {
      let names: string[] = [];
      try {
        names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
      } catch {
        return [];
      }
      const out: Canonical[] = [];
      for (const n of names) {
        const c = await get(n.slice(0, -'.json'.length));
        if (c) out.push(c);
      }
      return out;
    },
  };
}
