/**
 * A local Drone runner for tests: runs a pipeline step the way drone-runner-docker does
 * (shared/docs/gitea-drone-facts.md §3–4), so end-to-end tests exercise the real plugin.
 *
 * - Environment, later entries win: global env, build params, pipeline `environment:`,
 *   DRONE_* (system, repo, build, stage, step, links, workspace), then the step's own
 *   `environment:` and PLUGIN_* from `settings:` (strings as-is, booleans/numbers printed,
 *   lists of scalars comma-joined, lists with maps and maps as JSON). Params therefore cannot
 *   override DRONE_* variables, but can override anything else — as in Drone.
 * - Secrets (`from_secret`) are masked as `********` in the captured log.
 * - Exit codes: 0 success; 78 success and skip the remaining steps; anything else fails the
 *   step and the remaining steps are skipped.
 * - Cancel: SIGTERM, then SIGKILL after the grace period.
 *
 * A step runs as a local process (`command`) or as an image (`image`, with the docker socket
 * mounted, host networking, the workspace at /drone/src).
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
}

export interface RunStepOptions {
  readonly build: DroneBuild;
  readonly step: DroneStep;
  readonly workspace: string;
  readonly globalEnv?: Readonly<Record<string, string>>;
  readonly pipelineEnv?: Readonly<Record<string, string>>;
  readonly stepNumber?: number;
  readonly graceMs?: number;
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
  return {
    ...opts.globalEnv,
    ...build.params,
    ...opts.pipelineEnv,
    ...drone,
    ...step.environment,
    ...plugin,
  };
}

function mask(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('********');
  return out;
}

export function runDroneStep(opts: RunStepOptions): Promise<StepResult> {
  const env = droneEnvironment(opts);
  const secrets = Object.values(opts.step.secrets ?? {});
  const graceMs = opts.graceMs ?? 10_000;
  let child: ChildProcess;
  let containerName: string | null = null;
  if (opts.step.image) {
    containerName = `ccci-drone-step-${randomBytes(4).toString('hex')}`;
    const args = [
      'run',
      '--rm',
      '--name',
      containerName,
      '--network',
      'host',
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock',
      '-v',
      `${opts.workspace}:/drone/src`,
      '-w',
      '/drone/src',
    ];
    for (const m of opts.step.mounts ?? []) args.push('-v', m);
    for (const [k, v] of Object.entries({
      ...env,
      DRONE_WORKSPACE: '/drone/src',
      DRONE_WORKSPACE_BASE: '/drone/src',
    }))
      args.push('-e', `${k}=${v}`);
    child = spawn('docker', [...args, opts.step.image], { stdio: ['ignore', 'pipe', 'pipe'] });
  } else if (opts.step.command && opts.step.command.length > 0) {
    const base = opts.step.baseEnv ?? {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
    };
    const [program, ...args] = opts.step.command;
    child = spawn(program!, args, {
      cwd: opts.workspace,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } else {
    throw new Error(`step ${opts.step.name} has neither command nor image`);
  }
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
    if (containerName)
      spawn('docker', ['kill', '--signal', 'SIGTERM', containerName], { stdio: 'ignore' });
    else child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      killed = true;
      if (containerName) spawn('docker', ['kill', containerName], { stdio: 'ignore' });
      else child.kill('SIGKILL');
    }, graceMs);
  };
  if (opts.signal?.aborted) cancel();
  else opts.signal?.addEventListener('abort', cancel, { once: true });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', cancel);
      resolve({ exitCode: code ?? (sig === 'SIGKILL' ? 137 : 143), log, killed, cancelled });
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
  for (const [i, step] of opts.steps.entries()) {
    if (skipRest) {
      steps.push({ name: step.name, status: 'skipped', exitCode: null });
      continue;
    }
    const res = await runDroneStep({ ...opts, step, stepNumber: i + 1 });
    if (res.cancelled) {
      steps.push({ name: step.name, status: 'killed', exitCode: res.exitCode });
      status = 'killed';
      skipRest = true;
    } else if (res.exitCode === 0) steps.push({ name: step.name, status: 'success', exitCode: 0 });
    else if (res.exitCode === 78) {
      steps.push({ name: step.name, status: 'success', exitCode: 78 });
      skipRest = true;
    } else {
      steps.push({ name: step.name, status: 'failure', exitCode: res.exitCode });
      status = 'failure';
      skipRest = true;
    }
  }
  return { status, steps };
}
