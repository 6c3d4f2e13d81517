/**
 * The abra deployer: drives the real `abra` CLI as a Co-op Cloud operator would, with argument
 * arrays (never a shell), a per-run ABRA_DIR (runs never share abra state), `--no-input`
 * everywhere, and `FATA` lines turned into coded errors. The command-line contract it relies on
 * is recorded in packages/harness-core/test/contract/abra-cli.md and checked by the conformance
 * suite against a contract-checking `abra` stand-in (no abra binary can be installed here).
 */
import { stripAnsi } from '../domain/ansi.js';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError, InputError, RecipeError } from '../errors.js';
import { parseEnvFile } from '../domain/env-file.js';
import { appEndpoint, readComposeDocs } from './compose-files.js';
import { secretObjectName } from '../domain/naming.js';
import { runProcess, type ProcessRunner } from '../adapters/process/run-process.js';
import { hostEnv } from '../adapters/process/host-env.js';
import type { DeployRequest, DeployedApp, Deployer, GeneratedSecret } from '../ports/deployer.js';

export interface AbraDeployerOptions {
  /** Per-run abra state directory (ABRA_DIR). */
  readonly abraDir: string;
  /** The abra binary (default `abra` on PATH). */
  readonly bin?: string;
  readonly run?: ProcessRunner;
  /** Server name registered with `abra server add --local`. */
  readonly server?: string;
  /** Extra variables for abra's environment (set by the operator or a test, never a recipe). */
  readonly env?: Readonly<Record<string, string>>;
}

/** `FATA <message>` (abra's fatal log level) → the message, or null. */
export function fatalLine(output: string): string | null {
  const line = output.split(/\r?\n/).find((l) => /\bFATA\b/.test(l));
  return line ? line.replace(/^.*?\bFATA\b\W*/, '').trim() : null;
}

/** Parse the secrets table `abra app new --secrets` prints: │ NAME │ VALUE │ rows. */
export function parseSecretsTable(output: string): Array<{ name: string; value: string }> {
  const rows: Array<{ name: string; value: string }> = [];
  for (const line of stripAnsi(output).split(/\r?\n/)) {
    const cells = line
      .split(/[│|┃]/)
      .map((c) => c.trim())
      .filter(Boolean);
    if (cells.length !== 2) continue;
    const [name, value] = cells as [string, string];
    if (/^secret/i.test(name) || !/^[a-z0-9_]+$/.test(name)) continue;
    rows.push({ name, value });
  }
  return rows;
}

export class AbraDeployer implements Deployer {
  readonly kind = 'abra' as const;
  private readonly run: ProcessRunner;
  private readonly bin: string;
  private readonly server: string;
  private prepared = false;
  private readonly secrets = new Map<string, GeneratedSecret[]>();

  constructor(private readonly opts: AbraDeployerOptions) {
    this.run = opts.run ?? runProcess;
    this.bin = opts.bin ?? 'abra';
    this.server = opts.server ?? 'default';
  }

  private async abra(args: readonly string[], what: string, signal?: AbortSignal) {
    const res = await this.run(this.bin, args, {
      env: hostEnv({ ...this.opts.env, ABRA_DIR: this.opts.abraDir, NO_COLOR: '1' }),
      timeoutMs: 600_000,
      ...(signal ? { signal } : {}),
    });
    const fatal = fatalLine(`${res.stdout}\n${res.stderr}`);
    if (res.exitCode !== 0 || fatal) {
      const msg = `abra ${args.slice(0, 3).join(' ')} (${what}) failed: ${fatal ?? res.stderr.trim().slice(-500)}`;
      if (/compose|yaml|invalid|no such recipe|unable to read/i.test(fatal ?? ''))
        throw new InputError('COMPOSE_INVALID', msg);
      if (/daemon|connection refused|timeout|no such host/i.test(fatal ?? res.stderr))
        throw new InfraError('DOCKER_FAILED', msg);
      throw new RecipeError('BAD_RECIPE', msg);
    }
    return res;
  }

  private envFile(domain: string): string {
    return join(this.opts.abraDir, 'servers', this.server, `${domain}.env`);
  }

  /** Register the local server and put the run's checkout where abra looks for the recipe. */
  private async prepare(req: DeployRequest): Promise<void> {
    const recipeDir = join(this.opts.abraDir, 'recipes', req.recipe.name);
    await mkdir(join(this.opts.abraDir, 'recipes'), { recursive: true });
    await cp(req.recipe.dir, recipeDir, { recursive: true, force: true });
    if (this.prepared) return;
    await this.abra(['server', 'add', '--local', '--no-input'], 'register the local server');
    this.prepared = true;
  }

  async validate(req: DeployRequest): Promise<void> {
    await readComposeDocs(req);
  }

  async createSecrets(req: DeployRequest): Promise<GeneratedSecret[]> {
    this.domains.set(req.stack, req.domain);
    const known = this.secrets.get(req.stack);
    if (known) return known;
    await this.prepare(req);
    const res = await this.abra(
      [
        'app',
        'new',
        req.recipe.name,
        '--server',
        this.server,
        '--domain',
        req.domain,
        '--secrets',
        '--chaos',
        '--offline',
        '--no-input',
      ],
      'create the app',
      req.signal,
    );
    // The app's env: .env.sample as abra copied it, plus the CI's values appended (later wins).
    const file = this.envFile(req.domain);
    const current = await readFile(file, 'utf8').catch(() => '');
    const extra = Object.entries(req.env).filter(([k]) => !['DOMAIN', 'STACK_NAME'].includes(k));
    await writeFile(
      file,
      `${current}\n# cc-ci run values\n${extra.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n')}\n`,
    );
    const versions = new Map(
      parseEnvFile(current)
        .filter((e) => /^SECRET_.+_VERSION$/.test(e.key))
        .map((e) => [e.key.slice(7, -8).toLowerCase(), e.value || 'v1']),
    );
    const secrets = parseSecretsTable(res.stdout).map(({ name, value }) => {
      const version = versions.get(name) ?? 'v1';
      return { name, version, dockerName: secretObjectName(req.stack, name, version), value };
    });
    this.secrets.set(req.stack, secrets);
    return secrets;
  }

  async deploy(req: DeployRequest): Promise<DeployedApp> {
    this.domains.set(req.stack, req.domain);
    // The same Traefik check and reachability path as the docker deployer, before abra runs.
    const docs = await readComposeDocs(req);
    const endpoint = appEndpoint(docs, req);
    await this.prepare(req);
    // Chaos: deploy the checkout as it is (the head); abra stamps the chaos-version label.
    await this.abra(
      ['app', 'deploy', req.domain, '--chaos', '--offline', '--no-input', '--force'],
      'deploy',
      req.signal,
    );
    const composeNames = [...new Set(docs.flatMap(({ doc }) => Object.keys(doc.services ?? {})))];
    return {
      domain: req.domain,
      stack: req.stack,
      services: composeNames.map((name) => ({ name, fullName: `${req.stack}_${name}` })),
      endpoint,
      secrets: this.secrets.get(req.stack) ?? [],
    };
  }

  async backup(stack: string, signal?: AbortSignal): Promise<void> {
    await this.abra(
      ['app', 'backup', 'create', this.domainOf(stack), '--no-input'],
      'back up',
      signal,
    );
  }

  async restore(stack: string, signal?: AbortSignal): Promise<void> {
    await this.abra(['app', 'restore', this.domainOf(stack), '--no-input'], 'restore', signal);
  }

  async undeploy(stack: string): Promise<void> {
    const domain = this.domainOf(stack);
    await this.abra(['app', 'undeploy', domain, '--no-input'], 'undeploy');
  }

  async removeData(stack: string): Promise<void> {
    const domain = this.domainOf(stack);
    await this.abra(['app', 'volume', 'remove', domain, '--force', '--no-input'], 'remove volumes');
    await this.abra(['app', 'secret', 'remove', domain, '--all', '--no-input'], 'remove secrets');
    await this.abra(['app', 'remove', domain, '--force', '--no-input'], 'remove the app');
    this.secrets.delete(stack);
  }

  /** stack → domain: abra addresses apps by domain. */
  private readonly domains = new Map<string, string>();
  private domainOf(stack: string): string {
    const d = this.domains.get(stack);
    if (!d) throw new InfraError('DOCKER_FAILED', `abra deployer: no app known for stack ${stack}`);
    return d;
  }
}
