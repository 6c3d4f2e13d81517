/** Read and parse the compose files a deploy uses (COMPOSE_FILE list + overlays). */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../errors.js';
import { composeFiles } from '../domain/env-file.js';
import type { DeployRequest } from '../ports/deployer.js';

export type ComposeService = { deploy?: { labels?: Record<string, string> | string[] } };
export type ComposeDoc = {
  services?: Record<string, ComposeService>;
  secrets?: Record<string, unknown>;
};

/** YAML errors and missing files are the recipe's problem: InputError (exit 2). */
export async function readComposeDocs(
  req: DeployRequest,
): Promise<Array<{ file: string; doc: ComposeDoc }>> {
  const files = [...composeFiles(req.env).map((f) => resolve(req.recipe.dir, f)), ...req.overlays];
  const docs = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      throw new InputError(
        'COMPOSE_INVALID',
        `compose file ${file} (from COMPOSE_FILE) does not exist in the recipe`,
      );
    }
    try {
      docs.push({ file, doc: (parseYaml(text) ?? {}) as ComposeDoc });
    } catch (err) {
      throw new InputError(
        'COMPOSE_INVALID',
        `compose file ${file} does not parse: ${String(err).split('\n')[0]}`,
      );
    }
  }
  if (!docs.some(({ doc }) => Object.keys(doc.services ?? {}).length > 0)) {
    throw new InputError('COMPOSE_INVALID', `the recipe's compose files define no services`);
  }
  return docs;
}
