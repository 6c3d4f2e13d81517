/**
 * What the fake Gitea and fake Drone share: a real HTTP server on 127.0.0.1, a small router,
 * a record of every exchange (for contract tests), fault injection (status codes, delays, dropped
 * connections) and hooks around each exchange (the crash-safety test kills the bridge there).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  readonly method: string;
  /** Path without the query string, e.g. /api/v1/repos/o/r/issues/comments. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly rawQuery: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
  status: number;
  responseBody: unknown;
  responseHeaders: Record<string, string>;
  /** The route template that answered, e.g. /repos/{owner}/{repo}/issues/comments. */
  route: string | null;
}

export interface Fault {
  readonly method?: string;
  readonly path?: RegExp;
  /** How many matching requests to affect (default Infinity). */
  times?: number;
  /** Answer with this status and a JSON error body. */
  readonly status?: number;
  /** Wait this long before answering (or before failing). */
  readonly delayMs?: number;
  /** Destroy the connection without an answer. */
  readonly drop?: boolean;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Send this exact text instead of JSON (e.g. Drone's literal `null`). */
  readonly raw?: string;
  /** Send these bytes (static files such as a git repository served over dumb HTTP). */
  readonly bytes?: Buffer;
  readonly headers?: Record<string, string>;
}

export type Handler = (req: Exchange, params: Record<string, string>) => Reply | Promise<Reply>;

interface Route {
  readonly method: string;
  readonly template: string;
  readonly re: RegExp;
  readonly names: string[];
  readonly handler: Handler;
}

export class FakeHttpServer {
  readonly exchanges: Exchange[] = [];
  readonly faults: Fault[] = [];
  private readonly routes: Route[] = [];
  private server: Server | null = null;
  url = '';
  /** Called when a request has been read (phase 'received') and after its answer was sent ('answered'). */
  onExchange: ((phase: 'received' | 'answered', ex: Exchange) => void) | null = null;
  /** Answers requests outside the API prefix (null: 404). */
  fallback: ((ex: Exchange) => Reply | null) | null = null;

  constructor(
    private readonly prefix: string,
    private readonly errorBody: (status: number, message: string) => unknown,
  ) {}

  route(method: string, template: string, handler: Handler): void {
    const names: string[] = [];
    const re = new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, n: string) => {
        names.push(n);
        return '([^/]+)';
      })}$`,
    );
    this.routes.push({ method, template, re, names, handler });
  }

  fail(fault: Fault): void {
    this.faults.push({ times: Infinity, ...fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Listen on `host` (loopback by default; the host side of docker0 for plugin containers). */
  async start(host = '127.0.0.1'): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://${host}:${port}`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://fake');
    let body: unknown = undefined;
    if (text.length) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const ex: Exchange = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.searchParams,
      rawQuery: u.search.slice(1),
      headers: req.headers,
      body,
      status: 0,
      responseBody: undefined,
      responseHeaders: {},
      route: null,
    };
    this.exchanges.push(ex);
    this.onExchange?.('received', ex);
    const fault = this.faults.find(
      (f) =>
        (f.times ?? Infinity) > 0 &&
        (!f.method || f.method === ex.method) &&
        (!f.path || f.path.test(ex.path)),
    );
    if (fault) {
      fault.times = (fault.times ?? Infinity) - 1;
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.drop) {
        ex.status = -1;
        req.socket.destroy();
        return;
      }
      if (fault.status)
        return this.send(res, ex, {
          status: fault.status,
          body: this.errorBody(fault.status, 'injected fault'),
        });
    }
    let reply: Reply = { status: 404, body: this.errorBody(404, 'not found') };
    if (!ex.path.startsWith(this.prefix) && this.fallback) reply = this.fallback(ex) ?? reply;
    else if (ex.path.startsWith(this.prefix)) {
      const rest = ex.path.slice(this.prefix.length);
      for (const r of this.routes) {
        if (r.method !== ex.method) continue;
        const m = r.re.exec(rest);
        if (!m) continue;
        ex.route = r.template;
        const params = Object.fromEntries(
          r.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]),
        );
        try {
          reply = await r.handler(ex, params);
        } catch (err) {
          reply = { status: 500, body: this.errorBody(500, (err as Error).message) };
        }
        break;
      }
    }
    this.send(res, ex, reply);
  }

  private send(res: ServerResponse, ex: Exchange, reply: Reply): void {
    ex.status = reply.status;
    ex.responseBody = reply.raw !== undefined ? reply.raw : reply.body;
    ex.responseHeaders = reply.headers ?? {};
    if (reply.bytes) {
      res.writeHead(reply.status, {
        'content-type': 'application/octet-stream',
        ...ex.responseHeaders,
      });
      res.end(reply.bytes, () => this.onExchange?.('answered', ex));
      return;
    }
    const payload =
      reply.raw !== undefined
        ? reply.raw
        : reply.body === undefined
          ? ''
          : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...(payload.length ? { 'content-type': 'application/json;charset=utf-8' } : {}),
      ...ex.responseHeaders,
    });
    res.end(payload, () => this.onExchange?.('answered', ex));
  }
}
