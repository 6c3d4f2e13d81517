/** Read and parse the compose files a deploy uses (COMPOSE_FILE list + overlays). */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InputError, RecipeError } from '../errors.js';
import {
  PROXY_NETWORK,
  traefikRoute,
  type NetworkView,
  type ServiceView,
} from '../domain/traefik.js';
import { composeFiles } from '../domain/env-file.js';
import type { AppEndpoint, DeployRequest } from '../ports/deployer.js';

export type ComposeService = { deploy?: { labels?: Record<string, string> | string[] } };
export type ComposeDoc = {
  services?: Record<string, ComposeService>;
  secrets?: Record<string, unknown>;
};

/** YAML errors and missing files are the recipe's problem: InputError (exit 2). */
export async function readComposeDocs(
  req: DeployRequest,
): Promise<Array<{ file: string; doc: ComposeDoc }>> {
  return readComposeFiles([
    ...composeFiles(req.env).map((f) => resolve(req.recipe.dir, f)),
    ...req.overlays,
  ]);
}

/** Parse compose files (the recipe's COMPOSE_FILE list, then any overlays). */
export async function readComposeFiles(
  files: readonly string[],
): Promise<Array<{ file: string; doc: ComposeDoc }>> {
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

type RawNetworks = string[] | Record<string, unknown> | undefined;

/** Compose labels, as a list of `k=v` or a map, to a map. */
export function labelMapOf(raw: unknown): Record<string, string> {
  if (!raw) return {};
  if (Array.isArray(raw)) {
    return Object.fromEntries(
      raw.map((l) => {
        const i = String(l).indexOf('=');
        return i < 0 ? [String(l), ''] : [String(l).slice(0, i), String(l).slice(i + 1)];
      }),
    );
  }
  if (typeof raw !== 'object') return {};
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
}

/** The services (merged deploy labels, networks) and top-level networks of the compose files. */
export function routeView(
  docs: ReadonlyArray<{ file: string; doc: ComposeDoc }>,
  stack: string,
): { services: Map<string, ServiceView>; networks: Map<string, NetworkView> } {
  const services = new Map<string, ServiceView>();
  const networks = new Map<string, NetworkView>();
  for (const { doc } of docs) {
    for (const [name, raw] of Object.entries(doc.services ?? {})) {
      const svc = (raw ?? {}) as ComposeService & { networks?: RawNetworks };
      const prev = services.get(name);
      const nets = svc.networks
        ? Array.isArray(svc.networks)
          ? svc.networks.map(String)
          : Object.keys(svc.networks)
        : null;
      services.set(name, {
        labels: { ...prev?.labels, ...labelMapOf(svc.deploy?.labels) },
        networks: nets ?? prev?.networks ?? [],
      });
    }
    const top = (doc as { networks?: Record<string, unknown> }).networks ?? {};
    for (const [key, raw] of Object.entries(top)) {
      const def = (raw ?? {}) as { external?: unknown; name?: unknown };
      const external =
        def.external === true || (typeof def.external === 'object' && !!def.external);
      const extName =
        typeof def.external === 'object' && def.external && 'name' in def.external
          ? String((def.external as { name: unknown }).name)
          : undefined;
      networks.set(key, {
        external,
        name:
          typeof def.name === 'string'
            ? def.name
            : (extName ?? (external ? key : `${stack}_${key}`)),
      });
    }
  }
  return { services, networks };
}

/**
 * Where Traefik would send the app's traffic, read from the Traefik labels before anything is
 * deployed; a recipe Traefik could not route fails install (RecipeError) naming service and label.
 */
export function appEndpoint(
  docs: ReadonlyArray<{ file: string; doc: ComposeDoc }>,
  req: DeployRequest,
): AppEndpoint {
  const view = routeView(docs, req.stack);
  const { route, problems } = traefikRoute(view.services, view.networks, req.env, req.domain);
  if (!route) {
    throw new RecipeError(
      'BAD_RECIPE',
      `Traefik could not route ${req.domain} to this recipe: ${problems.join('; ')}`,
    );
  }
  return {
    network: PROXY_NETWORK,
    service: `${req.stack}_${route.service}`,
    port: route.port,
    hostHeader: req.domain,
  };
}
