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

/** The last `max` bytes of a stream, kept chunk by chunk (at least the latest chunk). */
export class BoundedTail {
  private chunks: Buffer[] = [];
  private len = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.len += chunk.length;
    while (this.len > this.max && this.chunks.length > 1) this.len -= this.chunks.shift()!.length;
  }
  text(encoding: BufferEncoding = 'utf8'): string {
    return Buffer.concat(this.chunks).toString(encoding);
  }
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
    const out = new BoundedTail(maxBytes);
    const err = new BoundedTail(maxBytes);
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
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
        stdout: out.text(opts.binary ? 'latin1' : 'utf8'),
        stderr: err.text(),
        timedOut,
      });
    });
    child.stdin.on('error', () => undefined);
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
    else child.stdin.end();
  });
