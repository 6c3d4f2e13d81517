/**
 * Is an app domain already in use on the swarm? A warm deploy must never take a domain a live
 * service answers on (the original system's warm Keycloak collided with the live SSO service).
 * Pure: judged from the services' labels (Spec.Labels and deploy labels).
 */
import type { SwarmObject } from '../ports/docker.js';

export interface DomainUse {
  /** The live service that uses the domain. */
  readonly service: string;
  /** How: its stack, its cc-ci domain label, or a Traefik router rule naming the domain. */
  readonly how: string;
}

const HOST_RULE = /Host(?:SNI)?\(([^)]*)\)/g;

/** The hosts of a Traefik rule: Host(`a`, `b`) || Host(`c`) → a, b, c. */
export function ruleHosts(rule: string): string[] {
  const hosts: string[] = [];
  for (const m of rule.matchAll(HOST_RULE))
    for (const h of m[1]!.matchAll(/[`"']([^`"']+)[`"']/g)) hosts.push(h[1]!.toLowerCase());
  return hosts;
}

/** Every use of `domain` (and `stack`) by the given live services, in their order. */
export function domainUses(
  services: readonly SwarmObject[],
  domain: string,
  stack: string,
): DomainUse[] {
  const want = domain.toLowerCase();
  const uses: DomainUse[] = [];
  for (const svc of services) {
    const labels = svc.labels;
    if (labels['com.docker.stack.namespace'] === stack)
      uses.push({ service: svc.name, how: `it belongs to stack ${stack}` });
    else if (labels['cc-ci.domain']?.toLowerCase() === want)
      uses.push({ service: svc.name, how: `its cc-ci.domain label is ${domain}` });
    else {
      const rule = Object.entries(labels).find(
        ([k, v]) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(k) && ruleHosts(v).includes(want),
      );
      if (rule) uses.push({ service: svc.name, how: `its router rule ${rule[0]}=${rule[1]}` });
    }
  }
  return uses;
}
