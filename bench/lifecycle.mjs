// Benchmark: the full lifecycle of the example recipe, and two install runs at once.
// - Full lifecycle (`cc-ci run`, every tier: install, upgrade, backup, restore, custom, lint)
//   against the sum of the raw docker floors of the deploys it makes (the upgrade base and the
//   head redeployed over it: two full raw cycles), measured in the same run.
// - Two `cc-ci run --stages install` started together ÷ one alone (1.0× = no slowdown from
//   sharing the host; 2.0× = fully serialised).
// Each figure is the median of BENCH_ROUNDS (default 3) alternating rounds.
import { ccciRun, median, notesRepo, rawFloor } from './install.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** What each stage's time (results.json duration_ms) covers in this recipe's lifecycle. */
const TIER_WHAT = {
  upgrade:
    'upgrade (base deploy until ready, seed, head over it until swarm ends its update monitor)',
  install: 'install (the head verified after the upgrade)',
  backup: 'backup',
  restore: 'restore',
  custom: "custom (the recipe's own Jest tests)",
};

export default async function bench({ log }) {
  const { repo, head } = await notesRepo();
  const raw = [];
  const full = [];
  const stages = [];
  const one = [];
  const two = [];
  for (let i = 0; i < ROUNDS; i++) {
    raw.push((await rawFloor(repo)).total);
    const lifecycle = await ccciRun(repo, head, 'install,upgrade,backup,restore,custom,lint');
    full.push(lifecycle.total);
    stages.push(lifecycle.stages);
    one.push((await ccciRun(repo, head)).total);
    const t0 = performance.now();
    await Promise.all([ccciRun(repo, head), ccciRun(repo, head)]);
    two.push(performance.now() - t0);
    log(
      `round ${i + 1}/${ROUNDS}: raw ${(raw.at(-1) / 1000).toFixed(1)} s, full lifecycle ${(full.at(-1) / 1000).toFixed(1)} s, one install ${(one.at(-1) / 1000).toFixed(1)} s, two at once ${(two.at(-1) / 1000).toFixed(1)} s`,
    );
  }
  const floor = 2 * median(raw);
  return {
    name: 'Full lifecycle, and two runs at once',
    description: `Median of ${ROUNDS} alternating rounds on examples/recipes/notes (two releases and a head). Full lifecycle: \`cc-ci run\` with every tier (lint is unverified without abra), end to end, against two raw docker full cycles (deploy → first HTTP 200 → \`stack rm\` until gone), one per deploy the lifecycle makes (the upgrade base, then the head over it). Two at once: two \`cc-ci run --stages install\` processes started together (each its own app domain and lock), wall time until both end, against one alone. Most of the upgrade's time is waiting that the swarm and this recipe impose on any tool: the base's and then the head's healthcheck (first check 5 s after the container starts; swarm reports a task running only once it is healthy) and swarm's update monitor (5 s, the default of update_config.monitor) before it calls the head's update complete, about 16 s together with the two container starts. Install and the later tiers run over that monitor once no container of the base runs any more (docs/tiers/upgrade.md), but in this recipe the base's container (start-first; busybox as PID 1 ignores SIGTERM) runs until the monitor's end: swarm stops it 2 s after taking it out of service discovery and kills it after its 2 s grace, so here they wait for the monitor.`,
    rows: [
      { metric: 'baseline: 2 × raw docker full cycle', value: floor / 1000, unit: 's' },
      { metric: 'cc-ci full lifecycle', value: median(full) / 1000, unit: 's' },
      ...['upgrade', 'install', 'backup', 'restore', 'custom'].map((tier) => ({
        metric: `of which ${TIER_WHAT[tier]}`,
        value: median(stages.map((s) => s[tier] ?? 0)) / 1000,
        unit: 's',
      })),
      { metric: 'baseline: one install run alone', value: median(one) / 1000, unit: 's' },
      { metric: 'two install runs at once (wall)', value: median(two) / 1000, unit: 's' },
    ],
    ratio: [
      { label: 'full lifecycle / raw floors of its deploys', value: median(full) / floor },
      { label: 'two install runs at once / one alone', value: median(two) / median(one) },
    ],
  };
}
