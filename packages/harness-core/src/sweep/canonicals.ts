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

/** A generated secret of a warm deploy: its docker name and value (never an artifact). */
export interface WarmSecret {
  readonly name: string;
  readonly value: string;
}

/**
 * The values of the secrets a warm deploy was given, `<stateDir>/warm-secrets/<stack>.json`
 * (mode 0600): a quick run on the canonical reuses its secrets and must keep their values out
 * of its logs and artifacts as a cold run does with the ones it generates.
 */
export interface WarmSecretStore {
  get(stack: string): Promise<readonly WarmSecret[] | null>;
  put(stack: string, secrets: readonly WarmSecret[]): Promise<void>;
  remove(stack: string): Promise<void>;
}

export function warmSecretStore(stateDir: string): WarmSecretStore {
  const dir = join(stateDir, 'warm-secrets');
  const file = (stack: string) => {
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(stack))
      throw new Error(`not a stack name: ${JSON.stringify(stack)}`);
    return join(dir, `${stack}.json`);
  };
  return {
    async get(stack) {
      try {
        const parsed = JSON.parse(await readFile(file(stack), 'utf8')) as unknown;
        if (!Array.isArray(parsed)) return null;
        return parsed.filter(
          (s): s is WarmSecret =>
            typeof (s as WarmSecret).name === 'string' &&
            typeof (s as WarmSecret).value === 'string',
        );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async put(stack, secrets) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file(stack)}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(secrets) + '\n', { mode: 0o600 });
      await rename(tmp, file(stack));
    },
    async remove(stack) {
      await rm(file(stack), { force: true });
    },
  };
}
