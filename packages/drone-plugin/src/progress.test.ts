import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { progressReporter } from './progress.js';

describe('progressReporter', () => {
  it('posts the whole map, one request at a time, newest state last, and survives a failing bridge', async () => {
    const bodies: unknown[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const server = createServer((req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        bodies.push({
          auth: req.headers.authorization,
          url: req.url,
          body: JSON.parse(text) as unknown,
        });
        setTimeout(() => {
          inFlight--;
          res.writeHead(bodies.length === 1 ? 500 : 202).end();
        }, 20);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const p = progressReporter({
        bridgeUrl: `http://127.0.0.1:${port}/`,
        token: 't0k',
        runId: '42',
        buildLink: 'https://drone.example.org/recipe-maintainers/cc-ci/42',
      });
      p.onTier('install', 'running');
      p.onTier('install', 'pass');
      p.onTier('upgrade', 'running');
      await p.flush();
      expect(maxInFlight).toBe(1);
      expect(bodies.length).toBeLessThanOrEqual(2);
      expect(bodies.at(-1)).toEqual({
        auth: 'Bearer t0k',
        url: '/api/runs/42/progress',
        body: {
          tiers: { install: 'pass', upgrade: 'running' },
          build_link: 'https://drone.example.org/recipe-maintainers/cc-ci/42',
        },
      });
    } finally {
      server.close();
    }
  });

  it('ignores an unreachable bridge', async () => {
    const p = progressReporter({
      bridgeUrl: 'http://127.0.0.1:1',
      token: 't',
      runId: '1',
      timeoutMs: 500,
    });
    p.onTier('install', 'running');
    await expect(p.flush()).resolves.toBeUndefined();
  });
});
