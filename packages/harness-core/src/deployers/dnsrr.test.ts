import { describe, expect, it } from '@jest/globals';
import { hostHasIpvs } from '../adapters/docker/ipvs.js';
import { parse as parseYaml } from 'yaml';
import type { ComposeDoc } from './compose-files.js';
import { dnsrrServices } from './docker-deployer.js';

describe('dnsrrServices (the CI overlay on a host without IPVS)', () => {
  it('picks every service that sets no endpoint mode and publishes nothing through ingress', () => {
    const doc = (yaml: string) => ({ doc: parseYaml(yaml) as ComposeDoc });
    const docs = [
      doc(`
services:
  app: { image: a }
  db: { image: b, deploy: { replicas: 1 } }
  vip: { image: c, deploy: { endpoint_mode: vip } }
  mesh: { image: d, ports: ["8080:80"] }
  hostport: { image: e, ports: [{ target: 80, published: 8080, mode: host }] }
`),
      // An overlay that sets the mode for a service of the first file wins for it.
      doc('services: { db: { deploy: { endpoint_mode: dnsrr } } }'),
    ];
    expect(dnsrrServices(docs).sort()).toEqual(['app', 'hostport']);
  });

  it('picks nothing from files without services', () => {
    expect(dnsrrServices([{ doc: {} }])).toEqual([]);
  });
});

describe('hostHasIpvs', () => {
  it('looks for the module and its proc table', () => {
    expect(hostHasIpvs(() => false)).toBe(false);
    expect(hostHasIpvs((p) => p === '/sys/module/ip_vs')).toBe(true);
    expect(hostHasIpvs((p) => p === '/proc/net/ip_vs')).toBe(true);
  });
});
