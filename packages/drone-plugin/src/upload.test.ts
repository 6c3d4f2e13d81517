import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uploadResults } from './upload.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A real server on loopback answering with the given statuses in turn. */
async function bridge(statuses: number[]): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(statuses.shift() ?? 201).end('{}');
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, bodies };
}

async function runDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ccci-upload-'));
  await writeFile(join(dir, 'results.json'), JSON.stringify({ run_id: '7' }));
  await mkdir(join(dir, 'junit'));
  await writeFile(join(dir, 'junit', 'install.xml'), '<testsuite/>');
  await writeFile(join(dir, 'run.log'), 'line\n');
  return dir;
}

const noSleep = async () => undefined;

describe('uploadResults', () => {
  it('retries 5xx answers and succeeds once the bridge recovers', async () => {
    const b = await bridge([500, 503, 201]);
    const res = await uploadResults({
      bridgeUrl: b.url,
      token: 't',
      runId: '7',
      runDir: await runDir(),
      sleep: noSleep,
    });
    expect(res).toEqual({ ok: true, attempts: 3, status: 201 });
    expect(JSON.parse(b.bodies[2]!)).toEqual({
      results: { run_id: '7' },
      junit: { 'install.xml': '<testsuite/>' },
      log: 'line\n',
    });
  });
  it('does not retry a 4xx answer', async () => {
    const b = await bridge([401]);
    const res = await uploadResults({
      bridgeUrl: b.url,
      token: 'wrong',
      runId: '7',
      runDir: await runDir(),
      sleep: noSleep,
    });
    expect(res).toMatchObject({ ok: false, attempts: 1, status: 401 });
    expect(b.bodies).toHaveLength(1);
  });
  it('gives up after the bounded number of attempts when the bridge is unreachable', async () => {
    const b = await bridge([]);
    const url = b.url;
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    const delays: number[] = [];
    const res = await uploadResults({
      bridgeUrl: url,
      token: 't',
      runId: '7',
      runDir: await runDir(),
      maxAttempts: 4,
      sleep: async (ms) => void delays.push(ms),
    });
    expect(res).toMatchObject({ ok: false, attempts: 4, status: null });
    expect(delays).toHaveLength(3);
    // capped exponential backoff with jitter: each delay within [cap/2, cap]
    delays.forEach((d, i) => {
      const cap = Math.min(500 * 2 ** i, 15_000);
      expect(d).toBeGreaterThanOrEqual(cap / 2);
      expect(d).toBeLessThanOrEqual(cap);
    });
  });
});
