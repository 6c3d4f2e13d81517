/**
 * A small client of the Docker Engine API over the daemon's unix socket: plain requests on one
 * kept-alive connection pool, and the hijacked (upgraded) stream that `exec` and `attach` use,
 * demultiplexed into stdout and stderr as the CLI does. Nothing here knows cc-ci's ports; the
 * Docker adapter (engine-api.ts) maps answers onto them.
 *
 * The stream format (non-TTY): frames of an 8-byte header — stream type (1 stdout, 2 stderr),
 * three zero bytes, the payload size as a big-endian uint32 — then the payload.
 */
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { InfraError } from '../../errors.js';
import { BoundedTail } from '../process/run-process.js';

export interface EngineAnswer {
  readonly status: number;
  readonly body: string;
}

export interface StreamOptions {
  /**
   * Written to the process's stdin, then stdin is closed (the write half of the socket). A
   * stream is given as a function that opens it, called once the request is under way (so an
   * error opening it is this call's error, never an unhandled one).
   */
  readonly stdin?: string | Buffer | (() => Readable);
  /** Where stdout goes instead of being kept (a tar stream to a file, say); opened as stdin is. */
  readonly stdoutSink?: () => Writable;
  readonly timeoutMs: number;
  /** Keep at most this many bytes of each kept stream (the tail), as runProcess does. */
  readonly maxBytes?: number;
}

export interface StreamResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** The daemon answered without upgrading: it refused (no such exec, container stopped). */
  readonly refused?: EngineAnswer;
}

const HEADER = 8;

/**
 * Splits the multiplexed stream into frames, whatever the chunk boundaries. A payload is handed
 * on as a view of the chunk it came in (no copy) unless it straddled two chunks; a consumer that
 * keeps one copies it.
 */
export class FrameSplitter {
  /** The start of a frame that has not fully arrived: its parts, their length, its size. */
  private parts: Buffer[] = [];
  private partsLength = 0;
  constructor(private readonly onFrame: (stream: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let at = this.parts.length ? this.completePending(chunk) : 0;
    if (at < 0) return;
    while (chunk.length - at >= HEADER) {
      const size = chunk.readUInt32BE(at + 4);
      if (chunk.length - at < HEADER + size) break;
      this.onFrame(chunk[at]!, chunk.subarray(at + HEADER, at + HEADER + size));
      at += HEADER + size;
    }
    if (at < chunk.length) this.keep(chunk.subarray(at));
  }

  /** Feed the pending frame from the chunk; how much of it was used, or -1 if all of it. */
  private completePending(chunk: Buffer): number {
    let at = 0;
    if (this.partsLength < HEADER) {
      at = Math.min(HEADER - this.partsLength, chunk.length);
      this.keep(chunk.subarray(0, at));
      if (this.partsLength < HEADER) return -1;
    }
    // The header's parts (8 bytes in all) become one buffer, once.
    if (this.parts[0]!.length < HEADER) this.parts = [Buffer.concat(this.parts)];
    const need = HEADER + this.parts[0]!.readUInt32BE(4) - this.partsLength;
    if (chunk.length - at < need) {
      this.keep(chunk.subarray(at));
      return -1;
    }
    const frame = Buffer.concat([...this.parts, chunk.subarray(at, at + need)]);
    this.parts = [];
    this.partsLength = 0;
    this.onFrame(frame[0]!, frame.subarray(HEADER));
    return at + need;
  }

  /** Keep a copy (the chunk it is a view of is not ours to hold on to). */
  private keep(part: Buffer): void {
    this.parts.push(Buffer.from(part));
    this.partsLength += part.length;
  }
}

export class EngineClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  constructor(readonly socketPath: string) {}

  private fail(method: string, path: string, err: Error): InfraError {
    return err instanceof InfraError
      ? err
      : new InfraError(
          'DOCKER_FAILED',
          `Engine API ${method} ${path.split('?')[0]} on ${this.socketPath}: ${err.message}`,
          { cause: err },
        );
  }

  /** One request; any status is an answer (the caller decides), no answer is an InfraError. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 60_000,
  ): Promise<EngineAnswer> {
    const res = await this.callRaw(method, path, body, timeoutMs);
    return { status: res.status, body: res.body.toString('utf8') };
  }

  /** call(), the answer's body as bytes (a multiplexed log stream, say). */
  callRaw(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 60_000,
  ): Promise<{ readonly status: number; readonly body: Buffer }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          path,
          method,
          agent: this.agent,
          timeout: timeoutMs,
          headers: payload
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
            : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(this.fail(method, path, err)));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(this.fail(method, path, err)));
      req.end(payload);
    });
  }

  /** A request whose answer must be 2xx JSON (or empty); 404 → null; else InfraError. */
  async json<T>(method: string, path: string, body?: unknown, timeoutMs?: number) {
    const res = await this.call(method, path, body, timeoutMs);
    if (res.status === 404) return null;
    if (res.status < 200 || res.status >= 300)
      throw new InfraError(
        'DOCKER_FAILED',
        `Engine API ${method} ${path.split('?')[0]} answered ${res.status}: ${daemonMessage(res).slice(0, 500)}`,
      );
    return (res.body.trim() ? JSON.parse(res.body) : {}) as T;
  }

  /**
   * POST to an endpoint that hijacks the connection (exec start, attach) and collect the
   * process's output until the daemon closes the stream. A timeout destroys the connection (the
   * process may run on, as after the CLI is killed) and reports `timedOut`.
   */
  stream(path: string, body: unknown, opts: StreamOptions): Promise<StreamResult> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const stdin = typeof opts.stdin === 'function' ? opts.stdin() : opts.stdin;
      const sink = opts.stdoutSink?.();
      const out = new BoundedTail(opts.maxBytes ?? 4 * 1024 * 1024);
      const err = new BoundedTail(opts.maxBytes ?? 4 * 1024 * 1024);
      let socket: Socket | undefined;
      let settled = false;
      const finish = (timedOut: boolean, failure?: Error, refused?: EngineAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const done = () =>
          resolve({
            stdout: out.text(),
            stderr: err.text(),
            timedOut,
            ...(refused ? { refused } : {}),
          });
        // A file read as stdin is closed whether or not the process read all of it.
        if (stdin && typeof stdin === 'object' && 'destroy' in stdin) stdin.destroy();
        if (failure || timedOut || refused) sink?.destroy();
        if (failure || timedOut) {
          socket?.destroy();
          req.destroy();
        }
        if (failure) reject(this.fail('POST', path, failure));
        else if (sink && !timedOut && !refused) sink.end(done);
        else done();
      };
      // A file that cannot be written or read fails the call (and never goes unhandled).
      for (const side of [sink, stdin])
        if (side && typeof side === 'object' && 'on' in side)
          side.on('error', (e: Error) => {
            socket?.destroy();
            finish(false, e);
          });
      const timer = setTimeout(() => finish(true), opts.timeoutMs);
      const req = this.upgradeRequest(path, { payload });
      req.on('error', (e) => finish(false, e));
      // Not upgraded: the daemon refused (no such exec, say) with an ordinary answer.
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          finish(false, undefined, {
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      });
      req.on('upgrade', (_res, sock: Socket, head: Buffer) => {
        socket = sock;
        // Given up on already (a file could not be read): the process gets EOF and ends.
        if (settled) return void sock.destroy();
        const frames = routeFrames(sock, out, err, sink);
        if (head.length) frames.push(head);
        sock.on('data', (c: Buffer) => frames.push(c));
        sock.on('error', (e) => finish(false, e));
        sock.on('end', () => sock.destroy());
        sock.on('close', () => finish(false));
        writeStdin(sock, stdin);
      });
      req.end(payload);
    });
  }

  /**
   * POST to an endpoint that hijacks the connection and hand the raw socket over (with the
   * bytes that came with the upgrade): a long-lived stream, such as an attach. Null when the
   * daemon answered without upgrading (it refused).
   */
  hijack(path: string, timeoutMs = 10_000): Promise<{ socket: Socket; head: Buffer } | null> {
    return new Promise((resolve, reject) => {
      const req = this.upgradeRequest(path, { timeoutMs });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(this.fail('POST', path, err)));
      req.on('response', (res: IncomingMessage) => {
        res.resume();
        resolve(null);
      });
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        socket.setTimeout(0);
        resolve({ socket, head });
      });
      req.end();
    });
  }

  /**
   * A POST asking the daemon to hijack the connection (exec start, attach), with a JSON body or
   * none, on a connection of its own: a hijacked one never goes back to the pool.
   */
  private upgradeRequest(
    path: string,
    opts: { readonly payload?: string; readonly timeoutMs?: number },
  ): ClientRequest {
    return request({
      socketPath: this.socketPath,
      path,
      method: 'POST',
      agent: false,
      ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
      headers: {
        ...(opts.payload === undefined
          ? {}
          : {
              'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(opts.payload),
            }),
        Connection: 'Upgrade',
        Upgrade: 'tcp',
      },
    });
  }

  /** Close the kept-alive connections (a long-lived process need not). */
  close(): void {
    this.agent.destroy();
  }
}

/** stdout and stderr frames to their tails, or stdout to the sink (at the sink's pace). */
function routeFrames(sock: Socket, out: BoundedTail, err: BoundedTail, sink: Writable | undefined) {
  let draining = false;
  return new FrameSplitter((type, payload) => {
    if (type === 2) err.push(Buffer.from(payload));
    else if (!sink) out.push(Buffer.from(payload));
    // The file is slower than the daemon: stop reading until it has caught up.
    else if (!sink.write(payload) && !draining) {
      draining = true;
      sock.pause();
      sink.once('drain', () => {
        draining = false;
        sock.resume();
      });
    }
  });
}

/** Stdin to the process, then the socket's write half closed (the process reads EOF). */
function writeStdin(sock: Socket, stdin: string | Buffer | Readable | undefined): void {
  if (stdin === undefined) return;
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) sock.end(stdin);
  else stdin.pipe(sock);
}

/** The daemon's `{"message": …}` of an error answer, or its raw body. */
export function daemonMessage(res: EngineAnswer): string {
  try {
    const parsed = JSON.parse(res.body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: the body as it is
  }
  return res.body.trim();
}
