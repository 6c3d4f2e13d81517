import { describe, expect, it } from '@jest/globals';
import { TIER_PROGRESS_STATES, type Isolation, type Results } from '@cc-ci/harness-core';
import { FLAKY_ISOLATION as FLAKY, makeResults } from '../../test/support/results.js';
import {
  CARD_MARKER,
  CARD_TIER_STATES,
  md,
  renderCard,
  renderGrammarHelp,
  renderPlainCard,
  renderRefusal,
  statusDescription,
  type CardRun,
  type CardState,
} from './card.js';
import type { Regression } from './regression.js';

const run: CardRun = {
  runId: '42',
  recipe: 'notes',
  pr: 7,
  headSha: 'abcdef0123456789abcdef0123456789abcdef01',
  quick: false,
  requestedBy: 'alice',
  links: {
    runUrl: 'https://ci.example/runs/42',
    buildUrl: 'https://drone.example/ops/cc-ci/42',
    badgeUrl: 'https://ci.example/badge/notes.svg',
  },
};

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '[click](javascript:alert(1))',
  '![x](http://evil.example/x.png)',
  '| a | b |\n|---|---|',
  '@admin please',
  CARD_MARKER,
  '<!-- cc-ci:reply:1 -->',
  'x'.repeat(10_000),
];

function failing(message: string): Results {
  return makeResults({
    run_id: '42',
    verdict: 'fail',
    level: 1,
    base_version: '0.2.0+1.0',
    stages: {
      install: {
        status: 'pass',
        duration_ms: 12_300,
        tests: [{ name: 'deploy', status: 'pass', ms: 12_300 }],
      },
      upgrade: {
        status: 'fail',
        duration_ms: 125_000,
        tests: [{ name: message, status: 'fail', ms: 1, message }],
      },
    },
    rungs: {
      install: { status: 'pass' },
      upgrade: { status: 'fail', reason: message },
      backup_restore: { status: 'skip', reason: 'no backup labels' },
      functional: { status: 'skip', reason: 'not requested' },
      lint: { status: 'skip', reason: 'not requested' },
    },
  });
}

describe('CARD_TIER_STATES', () => {
  it("is the plugin's progress states (harness-core) plus 'waiting'", () => {
    expect(CARD_TIER_STATES).toEqual([...TIER_PROGRESS_STATES, 'waiting']);
  });
});

describe('renderCard', () => {
  it('renders each state with the marker first and exactly once', () => {
    const states: CardState[] = [
      { kind: 'queued', position: 3 },
      { kind: 'started' },
      { kind: 'progress', tiers: { install: 'pass', upgrade: 'running' } },
      { kind: 'result', results: failing('boom') },
      { kind: 'error', message: 'no results uploaded' },
    ];
    for (const s of states) {
      const body = renderCard(run, s);
      expect(body.split('\n')[0]).toBe(CARD_MARKER);
      expect(body.split(CARD_MARKER)).toHaveLength(2);
    }
    expect(renderCard(run, states[0]!)).toContain('position 3');
    expect(renderCard(run, states[2]!)).toMatch(/upgrade \| ⏳ running/);
  });

  it('the result card has verdict, level, badge, per-tier rows, versions, links and the re-run command', () => {
    const body = renderCard(run, { kind: 'result', results: failing('the head is not running') });
    expect(body).toContain('fail · level 1 of 5');
    expect(body).toContain('![cc-ci level 1](https://ci.example/badge/notes.svg)');
    expect(body).toMatch(/\| install \| ✅ pass \| 12\.3 s \|/);
    expect(body).toMatch(/\| upgrade \| ❌ fail \| 2 min 5 s \| the head is not running \|/);
    expect(body).not.toMatch(/\| backup \|/); // not in stages: no row
    expect(body).toContain('0\\.2\\.0\\+1\\.0 → 0\\.3\\.0\\+1\\.35\\.0');
    expect(body).toContain('[run page](https://ci.example/runs/42)');
    expect(body).toContain('[Drone build](https://drone.example/ops/cc-ci/42)');
    expect(body).toContain('`!testme`');
    expect(body).toContain('abcdef0123');
  });

  const canonical = {
    version: '0.2.0+1.35.0',
    commit: 'c'.repeat(40),
    stack: 'warm-notes-115c84_ci_localhost',
    domain: 'warm-notes-115c84.ci.localhost',
  };
  /** The card of a quick run's result with this mode and quick block. */
  const quickCard = (mode: 'cold' | 'quick', quick: Results['quick']) =>
    renderCard(
      { ...run, quick: true },
      { kind: 'result', results: makeResults({ run_id: '42', mode, quick }) },
    );

  it('says what a quick run did on the warm canonical and that it was put back', () => {
    const body = quickCard('quick', {
      canonical,
      snapshot_restored: true,
      restore_detail: 'as snapshotted',
    });
    expect(body).toContain(
      '> Quick run on the warm canonical 0\\.2\\.0\\+1\\.35\\.0: the head was deployed over it, then the canonical was put back as it was (its version, its data).',
    );
    expect(body).toMatch(/lower confidence than `!testme`/);
    expect(body).toContain('`!testme --quick`');
  });

  it('never says the head was deployed over the canonical when the run ended before that', () => {
    const body = quickCard('quick', { canonical, head_deployed: false, snapshot_restored: true });
    expect(body).toContain(
      'the run ended before the head was deployed over it, then the canonical',
    );
    expect(body).not.toMatch(/: the head was deployed over it/);
  });

  it('says loudly when a quick run could not put the canonical back', () => {
    const body = quickCard('quick', {
      canonical,
      snapshot_restored: false,
      restore_detail: 'the canonical is not as it was: restore failed',
    });
    expect(body).toContain('**the canonical could not be put back as it was**');
    expect(body).toContain('restore failed');
    expect(body).not.toMatch(/put back as it was \(its version/);
  });

  it('says why a quick run ran cold, and never claims a reattached deploy', () => {
    const body = quickCard('cold', {
      canonical: null,
      cold_reason: 'there is no warm canonical of notes on this host',
      snapshot_restored: null,
    });
    expect(body).toContain(
      '> Quick run asked for, ran cold: there is no warm canonical of notes on this host.',
    );
    expect(body).not.toMatch(/warm canonical 0|put back/);
  });

  it('says a quick run without a quick block (an older plugin) ran cold', () => {
    const body = renderCard(
      { ...run, quick: true },
      { kind: 'result', results: makeResults({ run_id: '42', mode: 'cold' }) },
    );
    expect(body).toContain('no warm deploy was reattached, so this ran cold');
  });

  it('shows every upgrade path when there are several', () => {
    const r = failing('from 0.1.0+1.0: rolled back');
    r.upgrade_paths = [
      { base_version: '0.1.0+1.0', status: 'fail', duration_ms: 20_000, reason: 'rolled back' },
      { base_version: '0.2.0+1.0', status: 'pass', duration_ms: 18_000 },
    ];
    const body = renderCard(run, { kind: 'result', results: r });
    expect(body).toContain(
      'Upgrade paths: 0\\.1\\.0\\+1\\.0 → head ❌ fail · 0\\.2\\.0\\+1\\.0 → head ✅ pass',
    );
    r.upgrade_paths = r.upgrade_paths.slice(1);
    expect(renderCard(run, { kind: 'result', results: r })).not.toContain('Upgrade paths');
  });

  it('puts the error code of a failed or unverified tier before its reason', () => {
    const r = failing('the head is not running');
    r.stages.upgrade = { ...r.stages.upgrade!, code: 'UPGRADE_FAILED' };
    r.stages.custom = {
      status: 'unver',
      code: 'NOT_RUN',
      reason: 'the app is not running',
      duration_ms: 0,
      tests: [],
    };
    const body = renderCard(run, { kind: 'result', results: r });
    expect(body).toMatch(
      /\| upgrade \| ❌ fail \| 2 min 5 s \| `UPGRADE_FAILED` the head is not running \|/,
    );
    expect(body).toMatch(/\| custom \| .* \| `NOT_RUN` the app is not running \|/);
    const errored = makeResults({
      run_id: '42',
      verdict: 'error',
      error: 'the daemon stopped answering',
      error_code: 'DOCKER_FAILED',
    });
    expect(renderCard(run, { kind: 'result', results: errored })).toContain(
      '**Error:** `DOCKER_FAILED` the daemon stopped answering',
    );
  });

  it.each(HOSTILE)('hostile text %#  is inert in every place it can appear', (evil) => {
    const body = renderCard(
      { ...run, requestedBy: evil, recipe: evil },
      {
        kind: 'result',
        results: {
          ...failing(evil),
          version: evil,
          error: evil,
          isolation: { ...FLAKY, differences: [evil, evil] },
        },
      },
    );
    const error = renderCard(run, { kind: 'error', message: evil });
    for (const b of [body, error]) {
      expect(b.split('\n')[0]).toBe(CARD_MARKER);
      expect(b.split('<!--')).toHaveLength(2); // only our marker opens a comment
      expect(b).not.toMatch(/<(script|img|svg)/i);
      expect(b).not.toMatch(/[^\\]\]\(javascript:/);
      expect(b).not.toMatch(/!\[x\]\(http:\/\/evil/);
      expect(b).not.toMatch(/(^|[^\\])@admin/);
      expect(b.length).toBeLessThan(6_000);
      // Table rows keep their four cells: a | in text is escaped.
      for (const row of b.split('\n').filter((l) => l.startsWith('| upgrade')))
        expect(row.split(/(?<!\\)\|/).length).toBe(6);
    }
  });

  it('falls back to plain text when rendering throws, keeping the verdict', () => {
    const results = failing('x');
    const broken = new Proxy(results, {
      get(target, key) {
        if (key === 'stages') throw new Error('boom');
        return target[key as keyof Results];
      },
    });
    const body = renderCard(run, { kind: 'result', results: broken });
    expect(body).toBe(renderPlainCard(run, { kind: 'result', results: broken }));
    expect(body).toContain('fail · level 1 of 5');
    expect(body.startsWith(CARD_MARKER)).toBe(true);
  });
});

describe('statusDescription', () => {
  it('describes each state within 140 characters', () => {
    expect(statusDescription({ kind: 'queued', position: 1 })).toBe('queued');
    expect(
      statusDescription({ kind: 'progress', tiers: { install: 'pass', backup: 'running' } }),
    ).toBe('running: backup');
    expect(statusDescription({ kind: 'result', results: failing('x') })).toBe(
      'fail · level 1 of 5 · upgrade failed',
    );
    expect(
      statusDescription({ kind: 'result', results: makeResults({ run_id: '1', level: 1 }) }),
    ).toBe('pass · level 1 of 5');
    const summary = { verdict: 'fail', level: 0, duration_ms: 1, concurrent_runs: 1 } as const;
    const flaky = makeResults({ run_id: '1', level: 1 });
    flaky.isolation = {
      label: 'flaky',
      first: summary,
      first_dir: 'first-run',
      rerun: { ...summary, verdict: 'pass', level: 1, concurrent_runs: 0 },
      differences: [],
    };
    expect(statusDescription({ kind: 'result', results: flaky })).toBe(
      'pass · level 1 of 5 · flaky (re-run alone)',
    );
    const long = statusDescription({ kind: 'error', message: 'no results uploaded '.repeat(50) });
    expect(long.length).toBeLessThanOrEqual(140);
    expect(long.startsWith('error: no results uploaded')).toBe(true);
  });
});

describe('replies', () => {
  it('explain the valid forms and refusals without echoing markup', () => {
    const help = renderGrammarHelp('!testme <img src=x onerror=alert(1)>');
    expect(help).toContain('`!testme --quick`');
    expect(help).not.toContain('<img');
    const refusal = renderRefusal('@mallory', 'the pull request is closed');
    expect(refusal).not.toMatch(/(^|[^\\])@mallory/);
    expect(md('a|b')).toBe('a\\|b');
  });
});

describe('a regression on the result card', () => {
  const regression: Regression = {
    runId: '42',
    level: 3,
    version: '1.1.0+2.0',
    previousVersion: '1.0.0+2.0<b>',
    previousLevel: 5,
    previousRunId: '40',
    rung: 'backup_restore',
    rungStatus: 'fail',
  };
  const results = makeResults({ run_id: '42', level: 3, version: '1.1.0+2.0', verdict: 'fail' });
  it('says so under the version, naming the previous release and its run', () => {
    const body = renderCard(run, { kind: 'result', results, regression });
    expect(body).toContain(
      '> ⚠️ **Regression:** level 3 — the last release reached 5: backup/restore now fails',
    );
    expect(body).toContain('(last release: 1\\.0\\.0\\+2\\.0&lt;b&gt;, run 40)');
    expect(body).not.toContain('<b>');
  });
  it('no regression, no line', () => {
    expect(renderCard(run, { kind: 'result', results })).not.toContain('Regression');
    expect(renderCard(run, { kind: 'result', results, regression: null })).not.toContain(
      'Regression',
    );
  });
});

describe('an isolation re-run on the result card', () => {
  const withIsolation = (isolation: Isolation, o: Partial<Results> = {}) =>
    renderCard(run, {
      kind: 'result',
      results: makeResults({ run_id: '42', level: 5, isolation, ...o }),
    });

  it('flaky: where the first run failed and with how many others, that it passed alone, and what differed', () => {
    const body = withIsolation(FLAKY);
    expect(body).toContain(
      [
        '> 🔁 **Isolation re-run:** flaky — failed at functional (TESTS_FAILED) with 1 other run on the swarm, passed alone.',
        '>',
        '> What differed between the two runs:',
        '> - load\\: the first run shared the swarm with 1 other run\\(s\\); the re\\-run had it alone',
        '> - timing\\: custom took 240\\.0 s in the first run and 61\\.0 s alone',
        '',
      ].join('\n'),
    );
    // Under the version line, above the tiers.
    expect(body.indexOf('Version:')).toBeLessThan(body.indexOf('Isolation re-run'));
    expect(body.indexOf('Isolation re-run')).toBeLessThan(body.indexOf('| Tier |'));
  });

  it('flaky without differences says the results name none', () => {
    const body = withIsolation({ ...FLAKY, differences: [] });
    expect(body).toContain('> The results name no difference between the two runs.');
    expect(body).not.toContain('What differed');
  });

  it('genuine: failed again alone at the same rung with the same code', () => {
    const body = withIsolation(
      {
        ...FLAKY,
        label: 'genuine',
        first: { ...FLAKY.first, concurrent_runs: 2 },
        rerun: { ...FLAKY.first, concurrent_runs: 0 },
        differences: [],
      },
      { verdict: 'fail', level: 3 },
    );
    expect(body).toContain(
      '> 🔁 **Isolation re-run:** genuine — failed at functional (TESTS_FAILED) with 2 other runs on the swarm, and failed again alone at the same rung with the same code.',
    );
    expect(body).not.toContain('What differed');
    expect(body).not.toContain('name no difference');
  });

  it('changed: how the first run failed, then how the re-run did', () => {
    const body = withIsolation(
      {
        ...FLAKY,
        label: 'changed',
        rerun: {
          verdict: 'fail',
          level: 0,
          failed_rung: 'install',
          code: 'HTTP_FAILED',
          duration_ms: 60_000,
          concurrent_runs: 0,
        },
        differences: ['the re-run failed at install (HTTP_FAILED), not at functional'],
      },
      { verdict: 'fail', level: 0 },
    );
    expect(body).toContain(
      '> 🔁 **Isolation re-run:** changed — first failed at functional (TESTS_FAILED) with 1 other run on the swarm, then failed at install (HTTP_FAILED) alone.',
    );
    expect(body).toContain(
      '> - the re\\-run failed at install \\(HTTP\\_FAILED\\), not at functional',
    );
  });

  it('never says alone of a run that had company, nor more than the summaries bear out', () => {
    const crowded = withIsolation({ ...FLAKY, rerun: { ...FLAKY.rerun, concurrent_runs: 1 } });
    expect(crowded).toContain(
      'flaky — failed at functional (TESTS_FAILED) with 1 other run on the swarm, passed with 1 other run on the swarm.',
    );
    // A genuine label whose re-run failed elsewhere, a flaky one whose re-run did not pass:
    // both runs are told as they were.
    const elsewhere = withIsolation({
      ...FLAKY,
      label: 'genuine',
      rerun: { ...FLAKY.first, failed_rung: 'lint', code: 'LINT_FAILED', concurrent_runs: 0 },
    });
    expect(elsewhere).toContain(
      'genuine — first failed at functional (TESTS_FAILED) with 1 other run on the swarm, then failed at lint (LINT_FAILED) alone.',
    );
    expect(elsewhere).not.toContain('same rung');
    const errored = withIsolation({
      ...FLAKY,
      rerun: {
        verdict: 'error',
        level: 0,
        code: 'DOCKER_FAILED',
        duration_ms: 1,
        concurrent_runs: 0,
      },
    });
    expect(errored).toContain(
      'flaky — first failed at functional (TESTS_FAILED) with 1 other run on the swarm, then ended in an error (DOCKER_FAILED) alone.',
    );
  });

  it('shows at most ten differences and counts the rest', () => {
    const many = Array.from({ length: 12 }, (_, i) => `difference ${i}`);
    const body = withIsolation({ ...FLAKY, differences: many });
    expect(body).toContain('> - difference 9');
    expect(body).not.toContain('difference 10');
    expect(body).toContain('> - … and 2 more');
  });

  it('no isolation, no line', () => {
    expect(renderCard(run, { kind: 'result', results: failing('x') })).not.toContain('Isolation');
  });
});
