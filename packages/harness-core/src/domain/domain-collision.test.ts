import { describe, expect, it } from '@jest/globals';
import type { SwarmObject } from '../ports/docker.js';
import { domainUses, ruleHosts } from './domain-collision.js';
import { warmDomain } from './naming.js';

const svc = (name: string, labels: Record<string, string>): SwarmObject => ({
  kind: 'service',
  id: name,
  name,
  labels,
});

describe('ruleHosts', () => {
  it.each([
    ['Host(`a.example`)', ['a.example']],
    [
      'Host(`a.example`, `B.example`) || Host(`c.example`)',
      ['a.example', 'b.example', 'c.example'],
    ],
    ['HostSNI(`db.example`) && PathPrefix(`/x`)', ['db.example']],
    ['PathPrefix(`/only`)', []],
  ])('%s → %j', (rule, hosts) => {
    expect(ruleHosts(rule)).toEqual(hosts);
  });
});

describe('domainUses', () => {
  const domain = 'warm-keycloak-1a2b3c.ci.example';
  const stack = 'warm-keycloak-1a2b3c_ci_example';
  it('finds a live service routed on the domain, its stack, or its cc-ci domain label', () => {
    const live = [
      svc('sso_app', {
        'traefik.http.routers.sso.rule':
          'Host(`sso.example`) || Host(`WARM-keycloak-1a2b3c.ci.example`)',
      }),
      svc('other_app', { 'traefik.http.routers.other.rule': 'Host(`other.example`)' }),
      svc(`${stack}_db`, { 'com.docker.stack.namespace': stack }),
      svc('run_app', { 'cc-ci.domain': domain }),
    ];
    expect(domainUses(live, domain, stack)).toEqual([
      {
        service: 'sso_app',
        how: 'its router rule traefik.http.routers.sso.rule=Host(`sso.example`) || Host(`WARM-keycloak-1a2b3c.ci.example`)',
      },
      { service: `${stack}_db`, how: `it belongs to stack ${stack}` },
      { service: 'run_app', how: `its cc-ci.domain label is ${domain}` },
    ]);
  });
  it('finds nothing when the domain is free', () => {
    expect(
      domainUses([svc('a', { 'traefik.http.routers.a.rule': 'Host(`a.x`)' })], domain, stack),
    ).toEqual([]);
  });
});

describe('warmDomain', () => {
  it('is its own namespace, one per recipe and release, stable', () => {
    const a = warmDomain({ recipe: 'notes', version: '0.2.0+1.35.0', suffix: 'ci.localhost' });
    expect(a).toMatch(/^warm-notes-[0-9a-f]{6}\.ci\.localhost$/);
    expect(warmDomain({ recipe: 'notes', version: '0.2.0+1.35.0', suffix: 'ci.localhost' })).toBe(
      a,
    );
    expect(
      warmDomain({ recipe: 'notes', version: '0.3.0+1.35.0', suffix: 'ci.localhost' }),
    ).not.toBe(a);
  });
  it('keeps long recipe names within the stack and secret name limits', () => {
    const d = warmDomain({
      recipe: 'a-very-long-recipe-name-indeed',
      version: '1.0.0+1',
      suffix: 'ci.localhost',
    });
    expect(d).toMatch(/^warm-a-very-long-reci-[0-9a-f]{6}\.ci\.localhost$/);
    expect(d.length).toBeLessThanOrEqual(45);
  });
});
