#!/usr/bin/env node
// Soak: run the full lifecycle of the bundled example recipes several times on the local swarm
// and check that every run is green at the expected level (a good recipe must stay green run
// after run; a flaky pass is a defect of cc-ci or of the recipe). Each run is a real `cc-ci run`
// of a fresh recipe repository, as scripts/demo.sh makes it; the swarm is checked for leftovers
// after each run.
//
//   node scripts/soak.mjs [--repeats N] [recipe ...]     (default: 5 repeats of notes and ledger)
//
// Prints one line per run and a summary; exits 1 when any run is not `pass` at level 4.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../', import.meta.url).pathname;
const RELEASES = { notes: ['0.1.0+1.35.0', '0.2.0+1.35.0'], ledger: ['0.1.0+1.0', '0.2.0+1.1'] };
const EXPECTED_LEVEL = 4; // lint is unver without abra

const args = process.argv.slice(2);
let repeats = 5;
const recipes = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--repeats') repeats = Number(args[++i]);
  else recipes.push(args[i]);
}
if (!Number.isInteger(repeats) || repeats < 1 || repeats > 50) {
  console.error('soak: --repeats takes a whole number from 1 to 50');
  process.exit(2);
}
if (recipes.length === 0) recipes.push('notes', 'ledger');
for (const r of recipes)
  if (!RELEASES[r]) {
    console.error(
      `soak: unknown example recipe '${r}' (choose ${Object.keys(RELEASES).join(', ')})`,
    );
    process.exit(2);
  }

const leftovers = async () => {
  const lines = [];
  for (const kind of ['service', 'volume', 'secret', 'config']) {
    const { stdout } = await run('docker', [kind, 'ls', '--format', '{{.Name}}']);
    lines.push(
      ...stdout
        .split('\n')
        .filter((n) => n.includes('_ci_localhost'))
        .map((n) => `${kind} ${n}`),
    );
  }
  return lines;
};

function cli(argv, env) {
  return new Promise((resolve) => {
    const child = spawn('node', [join(root, 'packages/drone-plugin/dist/main.js'), ...argv], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), 20 * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

const work = await mkdtemp(join(tmpdir(), 'ccci-soak-'));
const outcomes = [];
for (const recipe of recipes) {
  for (let i = 1; i <= repeats; i++) {
    const repo = join(work, `${recipe}-${i}`);
    const { stdout } = await run('bash', [
      join(root, 'scripts/make-recipe-repo.sh'),
      join(root, 'examples/recipes', recipe),
      repo,
      ...RELEASES[recipe],
    ]);
    const head = stdout.trim();
    const outDir = join(work, 'runs', `${recipe}-${i}`);
    // Only what this run leaves counts against it (not objects another process left before).
    const before = new Set(await leftovers());
    const t0 = Date.now();
    const code = await cli(['run', repo, '--recipe', recipe, '--ref', head, '--out', outDir], {});
    const seconds = (Date.now() - t0) / 1000;
    let r = null;
    try {
      r = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8'));
    } catch {
      /* no results: counted as a failed run below */
    }
    const left = (await leftovers()).filter((o) => !before.has(o));
    const ok = r?.verdict === 'pass' && r.level === EXPECTED_LEVEL && left.length === 0;
    const why = r
      ? Object.entries(r.stages)
          .filter(
            ([, s]) =>
              s.status === 'fail' || (s.status === 'unver' && !/abra/.test(s.reason ?? '')),
          )
          .map(([n, s]) => `${n}: ${s.reason}`)
          .join('; ')
      : `no results.json (exit ${code})`;
    outcomes.push({ recipe, ok, seconds });
    console.log(
      `soak: ${recipe} #${i}: ${r ? `${r.verdict}, level ${r.level}` : 'no result'}, ${seconds.toFixed(1)} s` +
        `${left.length ? `, left on the swarm: ${left.join(', ')}` : ''}${ok ? '' : ` — ${why}`}`,
    );
  }
}
await rm(work, { recursive: true, force: true });
for (const recipe of recipes) {
  const mine = outcomes.filter((o) => o.recipe === recipe);
  const secs = mine.map((o) => o.seconds).sort((a, b) => a - b);
  console.log(
    `soak: ${recipe}: ${mine.filter((o) => o.ok).length}/${mine.length} green at level ${EXPECTED_LEVEL}; ` +
      `median ${secs[Math.floor(secs.length / 2)].toFixed(1)} s, slowest ${secs.at(-1).toFixed(1)} s`,
  );
}
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
