/**
 * A local Drone runner for tests: runs a pipeline step the way drone-runner-docker 1.8 does, so
 * tests exercise the real plugin image. docs/drone.md ("The runner emulation") lists the facts
 * and the upstream files they come from.
 *
 * - Environment, later entries win: global env, build params, pipeline `environment:`,
 *   DRONE_* (system, repo, build, stage, step, links, workspace), the step's own
 *   `environment:`, PLUGIN_* from `settings:` (strings as-is, booleans/numbers printed, lists of
 *   scalars comma-joined, lists with maps and maps as JSON), then the build/stage/step DRONE_*
 *   variables again (the runner re-applies them at run time), then secrets. An image's ENV is
 *   below all of it (Docker merges it). Params therefore override the image ENV.
 * - An image step gets its own container (`drone-<random>`, no hostname set, so the hostname is
 *   the short container id), on a bridge network created for the build with the step name as
 *   alias, the image's own entrypoint unless the step sets `entrypoint`, the workspace at
 *   /drone/src (also the working directory), the step's volumes (`mounts`) and `io.drone.*`
 *   labels. The container is removed when the step ends, the network when the build ends.
 * - Exit codes: 0 success; 78 success and skip the remaining steps; anything else fails.
 * - Cancel: as the runner's Destroy, SIGKILL at once (`docker kill`), then removal. With
 *   `graceMs`, SIGTERM first and SIGKILL after the grace (as `docker stop -t`, e.g. an operator
 *   stopping the runner host) — the runner itself never gives one.
 *
 * A step can also run as a local process (`command`), for tests of the runner's own rules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface DroneBuild {
  readonly number: number;
  readonly params: Readonly<Record<string, string>>;
  readonly repo?: { readonly owner: string; readonly name: string };
  readonly commit?: string;
  readonly branch?: string;
  readonly event?: string;
  readonly link?: string;
}

export interface DroneStep {
  readonly name: string;
  /** Run as a process: argv (program first). */
  readonly command?: readonly string[];
  /** Run as an image's entrypoint. */
  readonly image?: string;
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly environment?: Readonly<Record<string, string>>;
  /** Secrets by setting name (`settings: {token: {from_secret: …}}` → PLUGIN_TOKEN), masked in logs. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Image-like base env for process steps (an image's ENV); default PATH and HOME of this process. */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** Extra `docker run` mounts for image steps (`host:container[:ro]`). */
  readonly mounts?: readonly string[];
  /** Image steps: replaces the image's entrypoint (Drone's `entrypoint:`). */
  readonly entrypoint?: readonly string[];
  /** Image steps: arguments after the entrypoint (Drone's `command:`). */
  readonly args?: readonly string[];
}

export interface RunStepOptions {
  readonly build: DroneBuild;
  readonly step: DroneStep;
  readonly workspace: string;
  readonly globalEnv?: Readonly<Record<string, string>>;
  readonly pipelineEnv?: Readonly<Record<string, string>>;
  readonly stepNumber?: number;
  /** Cancel with SIGTERM and this grace before SIGKILL; default: SIGKILL at once, as Drone. */
  readonly graceMs?: number;
  /** The build's network (runDronePipeline creates one per build); default: one for this step. */
  readonly network?: string;
  readonly signal?: AbortSignal;
  /** Called with each chunk of (masked) log output as it arrives. */
  readonly onLog?: (text: string) => void;
}

export interface StepResult {
  readonly exitCode: number;
  readonly log: string;
  /** true when the step ignored SIGTERM and was killed after the grace period. */
  readonly killed: boolean;
  readonly cancelled: boolean;
}

/** Drone's encoding of a `settings:` value into a PLUGIN_* variable. */
export function encodeSetting(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    return value.some((v) => v !== null && typeof v === 'object')
      ? JSON.stringify(value)
      : value.map(String).join(',');
  }
  return JSON.stringify(value);
}

export function droneEnvironment(opts: RunStepOptions): Record<string, string> {
  const { build, step } = opts;
  const repo = build.repo ?? { owner: 'recipe-maintainers', name: 'cc-ci' };
  const commit = build.commit ?? '0'.repeat(40);
  const branch = build.branch ?? 'main';
  const link = build.link ?? `http://drone.localhost/${repo.owner}/${repo.name}/${build.number}`;
  const now = String(Math.floor(Date.now() / 1000));
  const drone: Record<string, string> = {
    CI: 'true',
    DRONE: 'true',
    DRONE_SYSTEM_PROTO: 'http',
    DRONE_SYSTEM_HOST: 'drone.localhost',
    DRONE_SYSTEM_HOSTNAME: 'drone.localhost',
    DRONE_SYSTEM_VERSION: '2.25.0',
    DRONE_REPO: `${repo.owner}/${repo.name}`,
    DRONE_REPO_OWNER: repo.owner,
    DRONE_REPO_NAMESPACE: repo.owner,
    DRONE_REPO_NAME: repo.name,
    DRONE_REPO_BRANCH: branch,
    DRONE_REPO_LINK: `http://gitea.localhost/${repo.owner}/${repo.name}`,
    DRONE_REMOTE_URL: `http://gitea.localhost/${repo.owner}/${repo.name}.git`,
    DRONE_BRANCH: branch,
    DRONE_COMMIT: commit,
    DRONE_COMMIT_SHA: commit,
    DRONE_COMMIT_BRANCH: branch,
    DRONE_COMMIT_REF: `refs/heads/${branch}`,
    DRONE_BUILD_NUMBER: String(build.number),
    DRONE_BUILD_EVENT: build.event ?? 'custom',
    DRONE_BUILD_LINK: link,
    DRONE_BUILD_STATUS: 'success',
    DRONE_BUILD_CREATED: now,
    DRONE_BUILD_STARTED: now,
    DRONE_STAGE_KIND: 'pipeline',
    DRONE_STAGE_TYPE: 'docker',
    DRONE_STAGE_NAME: 'recipe-ci',
    DRONE_STAGE_NUMBER: '1',
    DRONE_STAGE_STATUS: 'success',
    DRONE_STEP_NAME: step.name,
    DRONE_STEP_NUMBER: String(opts.stepNumber ?? 1),
    DRONE_WORKSPACE: opts.workspace,
    DRONE_WORKSPACE_BASE: opts.workspace,
    DRONE_CARD_PATH: '/dev/stdout',
    CI_BUILD_NUMBER: String(build.number),
    CI_COMMIT_SHA: commit,
  };
  const plugin: Record<string, string> = {};
  for (const [key, value] of Object.entries(step.settings ?? {})) {
    const encoded = encodeSetting(value);
    if (encoded !== null) plugin[`PLUGIN_${key.toUpperCase()}`] = encoded;
  }
  for (const [key, value] of Object.entries(step.secrets ?? {}))
    plugin[`PLUGIN_${key.toUpperCase()}`] = value;
  // The execer re-applies the build, stage and step variables over everything at run time.
  const reapplied = Object.fromEntries(
    Object.entries(drone).filter(([k]) =>
      /^(DRONE_(BUILD_(?!LINK)|COMMIT|BRANCH|STAGE_|STEP_)|CI_BUILD_NUMBER|CI_COMMIT_SHA)/.test(k),
    ),
  );
  return {
    ...opts.globalEnv,
    ...build.params,
    ...opts.pipelineEnv,
    ...drone,
    ...step.environment,
    ...plugin,
    ...reapplied,
  };
}

function mask(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('********');
  return out;
}

/** `drone-` and 20 random characters, as the runner names containers, networks and volumes. */
export function droneId(): string {
  return `drone-${randomBytes(10).toString('hex')}`;
}

/**
 * An address of this host that containers on any bridge network reach (the default bridge's
 * gateway): where a test serves what a step must reach on "the host" — traffic stays inside the
 * machine's container networks.
 */
export async function hostAddressForContainers(): Promise<string> {
  // Not os.networkInterfaces(): it omits docker0 while no container is attached (not RUNNING).
  const out = await new Promise<string>((resolve) => {
    const child = spawn('ip', ['-4', '-o', 'addr', 'show', 'dev', 'docker0'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', () => resolve(''));
    child.on('close', () => resolve(text));
  });
  const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
  if (!address) throw new Error('no IPv4 address on docker0: is the docker daemon running?');
  return address;
}

function docker(args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('docker', [...args], { stdio: 'ignore' });
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code ?? -1));
  });
}

export async function createBuildNetwork(): Promise<string> {
  const name = droneId();
  const code = await docker([
    'network',
    'create',
    '--driver',
    'bridge',
    '--label',
    'io.drone=true',
    name,
  ]);
  if (code !== 0) throw new Error(`docker network create ${name} failed`);
  return name;
}

export async function removeBuildNetwork(name: string): Promise<void> {
  await docker(['network', 'rm', name]);
}

export async function runDroneStep(opts: RunStepOptions): Promise<StepResult> {
  if (!opts.step.image) return runProcessStep(opts);
  const ownNetwork = opts.network ? null : await createBuildNetwork();
  try {
    return await runImageStep(opts, opts.network ?? ownNetwork!);
  } finally {
    if (ownNetwork) await removeBuildNetwork(ownNetwork);
  }
}

function runImageStep(opts: RunStepOptions, network: string): Promise<StepResult> {
  const { step, build } = opts;
  const env = {
    ...droneEnvironment(opts),
    DRONE_WORKSPACE: '/drone/src',
    DRONE_WORKSPACE_BASE: '/drone/src',
    DRONE_DOCKER_NETWORK_ID: network,
  };
  const name = droneId();
  const repo = build.repo ?? { owner: 'recipe-maintainers', name: 'cc-ci' };
  const args = [
    'run',
    '--name',
    name,
    '--network',
    network,
    '--network-alias',
    step.name,
    '-v',
    '/var/run/docker.sock:/var/run/docker.sock',
    '-v',
    `${opts.workspace}:/drone/src`,
    '-w',
    '/drone/src',
    '--label',
    'io.drone=true',
    '--label',
    `io.drone.repo.slug=${repo.owner}/${repo.name}`,
    '--label',
    `io.drone.build.number=${build.number}`,
    '--label',
    `io.drone.step.name=${step.name}`,
  ];
  for (const m of step.mounts ?? []) args.push('-v', m);
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
  if (step.entrypoint) args.push('--entrypoint', step.entrypoint[0]!);
  args.push(step.image!, ...(step.entrypoint?.slice(1) ?? []), ...(step.args ?? []));
  const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(opts, child, {
    term: () => void docker(['kill', '--signal', 'SIGTERM', name]),
    kill: () => void docker(['kill', name]),
    cleanup: async () => void (await docker(['rm', '--force', name])),
  });
}

function runProcessStep(opts: RunStepOptions): Promise<StepResult> {
  if (!opts.step.command || opts.step.command.length === 0)
    throw new Error(`step ${opts.step.name} has neither command nor image`);
  const base = opts.step.baseEnv ?? {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
  };
  const [program, ...args] = opts.step.command;
  const child = spawn(program!, args, {
    cwd: opts.workspace,
    env: { ...base, ...droneEnvironment(opts) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(opts, child, {
    term: () => void child.kill('SIGTERM'),
    kill: () => void child.kill('SIGKILL'),
    cleanup: async () => undefined,
  });
}

/** Capture (masked) output, handle cancel, resolve when the step has ended and is cleaned up. */
function collect(
  opts: RunStepOptions,
  child: ChildProcess,
  control: { term(): void; kill(): void; cleanup(): Promise<void> },
): Promise<StepResult> {
  const secrets = Object.values(opts.step.secrets ?? {});
  let log = '';
  const onData = (chunk: Buffer) => {
    const text = mask(chunk.toString(), secrets);
    log += text;
    opts.onLog?.(text);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let killed = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const cancel = () => {
    cancelled = true;
    if (opts.graceMs === undefined) {
      killed = true;
      control.kill();
      return;
    }
    control.term();
    killTimer = setTimeout(() => {
      killed = true;
      control.kill();
    }, opts.graceMs);
  };
  if (opts.signal?.aborted) cancel();
  else opts.signal?.addEventListener('abort', cancel, { once: true });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', cancel);
      void control
        .cleanup()
        .then(() =>
          resolve({ exitCode: code ?? (sig === 'SIGKILL' ? 137 : 143), log, killed, cancelled }),
        );
    });
  });
}

export interface PipelineResult {
  readonly status: 'success' | 'failure' | 'killed';
  readonly steps: ReadonlyArray<{
    name: string;
    status: 'success' | 'failure' | 'skipped' | 'killed';
    exitCode: number | null;
  }>;
}

/** Run steps in order with Drone's exit-code semantics (78 = success, skip the rest). */
export async function runDronePipeline(
  opts: Omit<RunStepOptions, 'step' | 'stepNumber'> & { steps: readonly DroneStep[] },
): Promise<PipelineResult> {
  const steps: Array<{
    name: string;
    status: 'success' | 'failure' | 'skipped' | 'killed';
    exitCode: number | null;
  }> = [];
  let status: PipelineResult['status'] = 'success';
  let skipRest = false;
  const network = opts.network ?? (await createBuildNetwork());
  try {
    for (const [i, step] of opts.steps.entries()) {
      if (skipRest) {
        steps.push({ name: step.name, status: 'skipped', exitCode: null });
        continue;
      }
      const res = await runDroneStep({ ...opts, step, stepNumber: i + 1, network });
      if (res.cancelled) {
        steps.push({ name: step.name, status: 'killed', exitCode: res.exitCode });
        status = 'killed';
        skipRest = true;
      } else if (res.exitCode === 0)
        steps.push({ name: step.name, status: 'success', exitCode: 0 });
      else if (res.exitCode === 78) {
        steps.push({ name: step.name, status: 'success', exitCode: 78 });
        skipRest = true;
      } else {
        steps.push({ name: step.name, status: 'failure', exitCode: res.exitCode });
        status = 'failure';
        skipRest = true;
      }
    }
  } finally {
    if (!opts.network) await removeBuildNetwork(network);
  }
  return { status, steps };
}
