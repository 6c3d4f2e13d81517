/**
 * Run a program with an argument array — never through a shell — with a timeout, an abort
 * signal, optional stdin and an environment. Output is captured (bounded) and returned.
 */
import { spawn } from 'node:child_process';
import { hostEnv } from './host-env.js';

export interface ProcessResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface RunProcessOptions {
  readonly cwd?: string;
  /** The child's whole environment; default `hostEnv()` (never cc-ci's own environment). */
  readonly env?: NodeJS.ProcessEnv;
  readonly stdin?: string | Buffer;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Keep at most this many bytes of each stream (the tail). Default 4 MiB. */
  readonly maxBytes?: number;
  /** Return stdout as raw bytes (latin1 string) — for tar streams. */
  readonly binary?: boolean;
}

export type ProcessRunner = (
  program: string,
  args: readonly string[],
  opts?: RunProcessOptions,
) => Promise<ProcessResult>;

export const runProcess: ProcessRunner = (program, args, opts = {}) =>
  new Promise((resolve, reject) => {
    const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
    const child = spawn(program, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? hostEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    const keep = (chunks: Buffer[], chunk: Buffer, len: number): number => {
      chunks.push(chunk);
      len += chunk.length;
      while (len > maxBytes && chunks.length > 1) len -= chunks.shift()!.length;
      return len;
    };
    child.stdout.on('data', (c: Buffer) => (outLen = keep(out, c, outLen)));
    child.stderr.on('data', (c: Buffer) => (errLen = keep(err, c, errLen)));
    const kill = () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 3000).unref();
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          kill();
        }, opts.timeoutMs)
      : undefined;
    const onAbort = () => kill();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({
        exitCode: code ?? (sig ? 128 + 15 : 1),
        stdout: Buffer.concat(out).toString(opts.binary ? 'latin1' : 'utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    child.stdin.on('error', () => undefined);
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
    else child.stdin.end();
  });
