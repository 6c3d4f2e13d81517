// Benchmark: a full install-tier run of the example recipe (cc-ci run --stages install: checkout,
// secrets, deploy, convergence, HTTP probe, diagnostics-free teardown with verification, results)
// against the raw docker floor measured in the same run on the same recipe: `docker stack deploy`
// → first HTTP 200 → `docker stack rm` until containers and network are gone.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'node:http';

const run = promisify(execFile);
const root = new URL('../', import.meta.url).pathname;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

const get = (port, host) =>
  new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', headers: { Host: host }, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });

export async function rawFloor(repo) {
  const stack = `benchraw${Math.floor(Math.random() * 1e6)}`;
  const port = await freePort();
  const overlay = join(await mkdtemp(join(tmpdir(), 'ccci-bench-')), 'ports.yml');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(
    overlay,
    `version: "3.8"\nservices:\n  app:\n    ports:\n      - {target: 80, published: ${port}, mode: host}\n`,
  );
  try {
    return await rawCycle(stack, port, overlay, repo);
  } finally {
    // Whatever happened, leave nothing behind.
    await run('docker', ['stack', 'rm', stack]).catch(() => undefined);
    for (let i = 0; i < 100; i++) {
      const gone = await run('docker', ['volume', 'rm', `${stack}_notes`]).then(
        () => true,
        (e) => /no such volume/i.test(String(e.stderr)),
      );
      if (gone) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await run('docker', ['secret', 'rm', `${stack}_admin_password_v1`]).catch(() => undefined);
  }
}

async function rawCycle(stack, port, overlay, repo) {
  const env = {
    ...process.env,
    STACK_NAME: stack,
    DOMAIN: 'bench.ci.localhost',
    LETS_ENCRYPT_ENV: 'staging',
    NOTES_TITLE: 'bench',
    SECRET_ADMIN_PASSWORD_VERSION: 'v1',
    ENTRYPOINT_VERSION: 'v1',
    NOTES_CGI_VERSION: 'v1',
  };
  const t0 = performance.now();
  const secret = spawn('docker', ['secret', 'create', `${stack}_admin_password_v1`, '-']);
  secret.stdin.end('benchmark-password-123');
  await new Promise((r) => secret.on('close', r));
  await run(
    'docker',
    [
      'stack',
      'deploy',
      '--resolve-image',
      'never',
      '-c',
      join(repo, 'compose.yml'),
      '-c',
      overlay,
      stack,
    ],
    { env },
  );
  for (let i = 0; i < 600 && (await get(port, 'bench.ci.localhost')) !== 200; i++)
    await new Promise((r) => setTimeout(r, 100));
  const up = performance.now();
  await run('docker', ['stack', 'rm', stack]);
  for (let i = 0; i < 600; i++) {
    const { stdout } = await run('docker', [
      'ps',
      '-aq',
      '--filter',
      `label=com.docker.stack.namespace=${stack}`,
    ]);
    const { stdout: nets } = await run('docker', [
      'network',
      'ls',
      '-q',
      '--filter',
      `label=com.docker.stack.namespace=${stack}`,
    ]);
    if (!stdout.trim() && !nets.trim()) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const end = performance.now();
  return { total: end - t0, toHttp: up - t0 };
}

export async function ccciRun(repo, head, stages = 'install') {
  const dir = await mkdtemp(join(tmpdir(), 'ccci-bench-run-'));
  const t0 = performance.now();
  await run(
    process.execPath,
    [
      join(root, 'packages/drone-plugin/dist/main.js'),
      'run',
      repo,
      '--recipe',
      'notes',
      '--ref',
      head,
      '--stages',
      stages,
      '--no-janitor',
      '--out',
      join(dir, 'out'),
    ],
    {
      env: { ...process.env, CCCI_STATE_DIR: join(dir, 'state') },
      timeout: 300_000,
    },
  );
  const total = performance.now() - t0;
  const results = JSON.parse(await readFile(join(dir, 'out', 'results.json'), 'utf8'));
  await rm(dir, { recursive: true, force: true });
  const durations = Object.fromEntries(
    Object.entries(results.stages).map(([tier, st]) => [tier, st.duration_ms]),
  );
  return { total, stages: durations };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A notes repository with two releases; resolves to {repo, head}. */
export async function notesRepo() {
  const parent = await mkdtemp(join(tmpdir(), 'ccci-bench-repo-'));
  const repo = join(parent, 'notes');
  const { stdout } = await run('bash', [
    join(root, 'scripts/make-recipe-repo.sh'),
    join(root, 'examples/recipes/notes'),
    repo,
    '0.1.0+1.35.0',
    '0.2.0+1.35.0',
  ]);
  return { repo, head: stdout.trim() };
}

export default async function bench({ log }) {
  const { repo, head } = await notesRepo();
  const raw = [];
  const ccci = [];
  for (let i = 0; i < ROUNDS; i++) {
    raw.push(await rawFloor(repo));
    ccci.push(await ccciRun(repo, head));
    log(
      `round ${i + 1}/${ROUNDS}: raw ${(raw.at(-1).total / 1000).toFixed(1)} s, cc-ci ${(ccci.at(-1).total / 1000).toFixed(1)} s`,
    );
  }
  const rawMed = median(raw.map((r) => r.total));
  const ccciMed = median(ccci.map((r) => r.total));
  return {
    name: 'Install tier vs raw docker',
    description: `Median of ${ROUNDS} alternating rounds on the example recipe (examples/recipes/notes). Baseline: \`docker stack deploy\` → first HTTP 200 → \`docker stack rm\` until containers and network are gone. cc-ci: \`cc-ci run --stages install\` end to end (process start, checkout, secrets, deploy, convergence, probe, teardown with verification, volume/secret removal, results + JUnit + leak scan). The two wait differently: the raw floor stops at the first HTTP 200, before the app's healthcheck has passed, and its \`stack rm\` then waits for the swarm agent to stop and reap the containers; cc-ci waits until swarm reports the task running, which for this recipe means its healthcheck passed (5 s interval), with its container up for 3 s and the health path answering through the proxy network, and its teardown force-removes the containers of the removed stack, then verifies that nothing of the run is left.`,
    rows: [
      {
        metric: 'baseline: raw docker deploy → HTTP 200',
        value: median(raw.map((r) => r.toHttp)) / 1000,
        unit: 's',
      },
      { metric: 'baseline: raw docker full cycle', value: rawMed / 1000, unit: 's' },
      { metric: 'cc-ci install-tier run', value: ccciMed / 1000, unit: 's' },
    ],
    ratio: { label: 'cc-ci install run / raw docker floor', value: ccciMed / rawMed },
  };
}
