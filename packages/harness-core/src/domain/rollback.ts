/**
 * Proving an upgrade: judge the swarm's state after the head was redeployed. Pure, over our own
 * ServiceInfo values. Lessons built in (docs/domain.md): start-first rollbacks mask failed
 * upgrades (detect UpdateStatus rollback_* / paused and Spec reverted to the base), and an
 * "upgrade" that left the base running must never pass (the chaos-version label must equal the
 * head's sha and the version label must have moved).
 */
import type { ServiceInfo } from '../ports/docker.js';

export type UpgradeJudgement =
  | { readonly state: 'waiting'; readonly detail: string }
  | { readonly state: 'done' }
  | { readonly state: 'failed'; readonly reason: string };

const ROLLBACK_STATES = new Set([
  'rollback_started',
  'rollback_completed',
  'rollback_paused',
  'paused',
]);

/** Look at UpdateStatus only: is the update still going, finished, or rolled back? */
export function judgeUpdate(
  services: readonly ServiceInfo[],
  expectChaosVersion: string,
  stack: string,
): UpgradeJudgement {
  const chaosLabel = `coop-cloud.${stack}.chaos-version`;
  for (const s of services) {
    const st = s.updateStatus?.state;
    if (st && ROLLBACK_STATES.has(st)) {
      return {
        state: 'failed',
        reason: `service ${s.name}: swarm ${st.replace('_', ' ')} the upgrade: "${s.updateStatus!.message}"`,
      };
    }
    if (
      s.labels[chaosLabel] !== expectChaosVersion &&
      s.previousLabels?.[chaosLabel] === expectChaosVersion
    ) {
      return {
        state: 'failed',
        reason: `service ${s.name}: the spec was reverted to the previous one (rollback): chaos-version is "${s.labels[chaosLabel] ?? 'absent'}"`,
      };
    }
  }
  const updating = services.filter((s) => s.updateStatus && s.updateStatus.state === 'updating');
  if (updating.length)
    return { state: 'waiting', detail: updating.map((s) => `${s.name} updating`).join(', ') };
  return { state: 'done' };
}

export interface UpgradeProof {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
}

/** The label proofs after the update settled. */
export function proveUpgrade(input: {
  services: readonly ServiceInfo[];
  stack: string;
  expectChaosVersion: string;
  baseVersions: Readonly<Record<string, string | undefined>>;
}): UpgradeProof[] {
  const chaosLabel = `coop-cloud.${input.stack}.chaos-version`;
  const versionLabel = `coop-cloud.${input.stack}.version`;
  const proofs: UpgradeProof[] = [];
  const stamped = input.services.filter((s) => s.labels[chaosLabel] !== undefined);
  const wrong = input.services.filter((s) => s.labels[chaosLabel] !== input.expectChaosVersion);
  proofs.push({
    name: `head is deployed (chaos-version = ${input.expectChaosVersion})`,
    ok: input.services.length > 0 && wrong.length === 0,
    message:
      wrong.length === 0
        ? ''
        : `${wrong.map((s) => `${s.name} runs chaos-version "${s.labels[chaosLabel] ?? 'absent'}"`).join('; ')}; expected "${input.expectChaosVersion}"${stamped.length === 0 ? ' — the head was never deployed' : ''}`,
  });
  const withVersion = input.services.filter((s) => s.labels[versionLabel] !== undefined);
  const notMoved = withVersion.filter((s) => s.labels[versionLabel] === input.baseVersions[s.name]);
  proofs.push({
    name: 'version label moved from the base',
    ok: withVersion.length > 0 && notMoved.length === 0,
    message:
      withVersion.length === 0
        ? `no service carries ${versionLabel}`
        : notMoved.map((s) => `${s.name} still labelled ${s.labels[versionLabel]}`).join('; '),
  });
  return proofs;
}
