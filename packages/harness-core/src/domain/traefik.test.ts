import { describe, expect, it } from '@jest/globals';
import {
  interpolate,
  ruleHosts,
  traefikRoute,
  type NetworkView,
  type ServiceView,
} from './traefik.js';

const env = { STACK_NAME: 'app_ci', DOMAIN: 'app.ci.localhost' };
const proxy = new Map<string, NetworkView>([['proxy', { external: true, name: 'proxy' }]]);
const labels = (extra: Record<string, string> = {}): Record<string, string> => ({
  'traefik.enable': 'true',
  'traefik.http.services.${STACK_NAME}.loadbalancer.server.port': '80',
  'traefik.http.routers.${STACK_NAME}.rule': 'Host(`${DOMAIN}`)',
  ...extra,
});
const one = (svc: ServiceView) => new Map([['app', svc]]);

describe('traefikRoute', () => {
  it('finds the public service and port of a well-formed recipe', () => {
    expect(
      traefikRoute(one({ labels: labels(), networks: ['proxy'] }), proxy, env, env.DOMAIN),
    ).toEqual({ route: { service: 'app', port: 80, router: 'app_ci' }, problems: [] });
  });

  it('refuses a recipe with no traefik.enable=true', () => {
    const r = traefikRoute(
      one({ labels: labels({ 'traefik.enable': 'false' }), networks: ['proxy'] }),
      proxy,
      env,
      env.DOMAIN,
    );
    expect(r.route).toBeNull();
    expect(r.problems.join()).toMatch(/traefik\.enable=true/);
  });

  it('refuses a router rule for another domain, quoting the rule', () => {
    const r = traefikRoute(
      one({
        labels: labels({ 'traefik.http.routers.${STACK_NAME}.rule': 'Host(`other.example.com`)' }),
        networks: ['proxy'],
      }),
      proxy,
      env,
      env.DOMAIN,
    );
    expect(r.problems.join()).toMatch(
      /service app: no router rule matches app\.ci\.localhost \(traefik\.http\.routers\.app_ci\.rule=Host\(`other\.example\.com`\)\)/,
    );
  });

  it('accepts the domain as one of several hosts, as Traefik does', () => {
    const r = traefikRoute(
      one({
        labels: labels({
          'traefik.http.routers.${STACK_NAME}.rule': 'Host(`www.x.org`) || Host(`${DOMAIN}`)',
        }),
        networks: ['proxy'],
      }),
      proxy,
      env,
      env.DOMAIN,
    );
    expect(r.route?.service).toBe('app');
  });

  it('refuses a service that is not on the external proxy network', () => {
    const nets = new Map<string, NetworkView>([
      ['proxy', { external: false, name: 'app_ci_proxy' }],
    ]);
    const r = traefikRoute(one({ labels: labels(), networks: ['proxy'] }), nets, env, env.DOMAIN);
    expect(r.problems.join()).toMatch(/service app: not attached to the external "proxy" network/);
  });

  it('refuses a missing or non-numeric load-balancer port', () => {
    const noPort = labels();
    delete noPort['traefik.http.services.${STACK_NAME}.loadbalancer.server.port'];
    expect(
      traefikRoute(one({ labels: noPort, networks: ['proxy'] }), proxy, env, env.DOMAIN).problems,
    ).toEqual([expect.stringMatching(/loadbalancer\.server\.port" label/)]);
    expect(
      traefikRoute(
        one({
          labels: labels({
            'traefik.http.services.${STACK_NAME}.loadbalancer.server.port': 'http',
          }),
          networks: ['proxy'],
        }),
        proxy,
        env,
        env.DOMAIN,
      ).problems,
    ).toEqual([expect.stringMatching(/"http" is not a port/)]);
  });

  it('uses the port of the service the router names', () => {
    const r = traefikRoute(
      one({
        labels: labels({
          'traefik.http.services.metrics.loadbalancer.server.port': '9090',
          'traefik.http.services.web.loadbalancer.server.port': '8080',
          'traefik.http.routers.${STACK_NAME}.service': 'web',
        }),
        networks: ['proxy'],
      }),
      proxy,
      env,
      env.DOMAIN,
    );
    expect(r.route?.port).toBe(8080);
  });
});

describe('ruleHosts and interpolate', () => {
  it('reads every host of a rule', () => {
    expect(ruleHosts('Host(`a.org`, `B.org`) && PathPrefix(`/x`) || Host("c.org")')).toEqual([
      'a.org',
      'b.org',
      'c.org',
    ]);
  });
  it('interpolates as compose does, defaults included', () => {
    expect(interpolate('${A}-${B:-dflt}-$A-${C-x}', { A: '1' })).toBe('1-dflt-1-x');
  });
});
