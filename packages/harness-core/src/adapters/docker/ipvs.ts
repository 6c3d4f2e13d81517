/**
 * Does this kernel have IPVS? Swarm routes service virtual IPs (and the ingress mesh) through it;
 * without it a service name resolves to a VIP that connects nowhere, while `tasks.<service>` and
 * `deploy.endpoint_mode: dnsrr` reach the tasks directly (docs/environment.md, "No IPVS"). The
 * module shows in /sys/module (built in or loaded; dockerd loads it when swarm starts) and its
 * table in /proc/net/ip_vs; /sys is the host's in the plugin container too.
 */
import { existsSync } from 'node:fs';

export function hostHasIpvs(exists: (path: string) => boolean = existsSync): boolean {
  return exists('/sys/module/ip_vs') || exists('/proc/net/ip_vs');
}
