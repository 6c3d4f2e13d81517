/**
 * The recipe's Traefik labels, read the way Traefik's swarm provider would use them, before
 * anything is deployed: which service serves the app's domain and on which port. A recipe whose
 * public service Traefik would not route (no `traefik.enable=true`, no router rule for the
 * domain, no load-balancer port, not on the `proxy` network) fails install here with a message
 * naming the service and the label — it would fail in production the same way.
 */

export const PROXY_NETWORK = 'proxy';

/** `${VAR}` / `${VAR:-default}` / `$VAR`, as compose interpolates (for reading labels). */
export function interpolate(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, a: string | undefined, def: string | undefined, b: string | undefined) => {
      const v = env[(a ?? b)!];
      return v !== undefined && v !== '' ? v : (def ?? '');
    },
  );
}

/** A service as the checks need it: its (merged) deploy labels and the networks it joins. */
export interface ServiceView {
  readonly labels: Readonly<Record<string, string>>;
  readonly networks: readonly string[];
}

/** A top-level network: whether it is external, and the name it has on the daemon. */
export interface NetworkView {
  readonly external: boolean;
  readonly name: string;
}

export interface TraefikRoute {
  /** The recipe's service name (`app`). */
  readonly service: string;
  readonly port: number;
  readonly router: string;
}

/** The host names of a router rule: every argument of every Host(...) in it. */
export function ruleHosts(rule: string): string[] {
  const hosts: string[] = [];
  for (const m of rule.matchAll(/Host\(([^)]*)\)/g)) {
    for (const arg of m[1]!.matchAll(/[`"']([^`"']*)[`"']/g)) hosts.push(arg[1]!.toLowerCase());
  }
  return hosts;
}

/**
 * The route Traefik would take to `domain`, or the problems that stop it. Labels are
 * interpolated with the deploy's env first, as compose would.
 */
export function traefikRoute(
  services: ReadonlyMap<string, ServiceView>,
  networks: ReadonlyMap<string, NetworkView>,
  env: Readonly<Record<string, string>>,
  domain: string,
): { route: TraefikRoute | null; problems: string[] } {
  const problems: string[] = [];
  const enabled = [...services].filter(
    ([, s]) => interpolate(s.labels['traefik.enable'] ?? '', env).toLowerCase() === 'true',
  );
  if (enabled.length === 0) {
    return {
      route: null,
      problems: [
        `no service has the label "traefik.enable=true": Traefik would route nothing to ${domain}`,
      ],
    };
  }
  for (const [name, svc] of enabled) {
    const labels = Object.fromEntries(
      Object.entries(svc.labels).map(([k, v]) => [interpolate(k, env), interpolate(v, env)]),
    );
    const routers = Object.entries(labels)
      .map(([k, v]) => [/^traefik\.http\.routers\.([^.]+)\.rule$/.exec(k)?.[1], v] as const)
      .filter((r): r is readonly [string, string] => r[0] !== undefined);
    const matching = routers.find(([, rule]) => ruleHosts(rule).includes(domain.toLowerCase()));
    if (!matching) {
      problems.push(
        routers.length === 0
          ? `service ${name}: no "traefik.http.routers.<name>.rule" label, so Traefik has no route to ${domain}`
          : `service ${name}: no router rule matches ${domain} (${routers.map(([r, rule]) => `traefik.http.routers.${r}.rule=${rule}`).join('; ')})`,
      );
      continue;
    }
    const portLabels = Object.entries(labels).filter(([k]) =>
      /^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.test(k),
    );
    const wanted = labels[`traefik.http.routers.${matching[0]}.service`];
    const portLabel = wanted
      ? portLabels.find(([k]) => k === `traefik.http.services.${wanted}.loadbalancer.server.port`)
      : portLabels[0];
    if (!portLabel) {
      problems.push(
        `service ${name}: no "traefik.http.services.${wanted ?? '<name>'}.loadbalancer.server.port" label; Traefik in swarm mode needs it to know the port`,
      );
      continue;
    }
    const port = Number(portLabel[1]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      problems.push(`service ${name}: ${portLabel[0]}="${portLabel[1]}" is not a port`);
      continue;
    }
    const onProxy = svc.networks.some((n) => {
      const def = networks.get(n);
      return def?.external === true && def.name === PROXY_NETWORK;
    });
    if (!onProxy) {
      problems.push(
        `service ${name}: not attached to the external "${PROXY_NETWORK}" network (networks: ${svc.networks.join(', ') || 'none'}); Traefik could not reach it`,
      );
      continue;
    }
    return { route: { service: name, port, router: matching[0] }, problems: [] };
  }
  return { route: null, problems };
}
