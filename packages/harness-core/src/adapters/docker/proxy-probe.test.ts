import { describe, expect, it } from '@jest/globals';
import { AttachedProbe, type LineChannel } from './proxy-probe.js';
import type { TaskAnswer } from '../../ports/proxy-probe.js';

const endpoint = { service: 's_app', port: 80, network: 'proxy', hostHeader: 'a.ci.localhost' };
const ok = (path: string): TaskAnswer[] => [
  { address: '10.0.0.2', answer: { status: 200, body: path }, error: null },
];

/** A channel to a fake probe server; `answer` decides what it does with each request. */
function fakeChannel(answer: (req: { id: number; q: { path: string } }, ch: Fake) => void) {
  const sent: string[] = [];
  const ch: Fake = {
    lines: [],
    closes: [],
    sent,
    send(line) {
      sent.push(line);
      const req = JSON.parse(line) as { id: number; q: { path: string } };
      queueMicrotask(() => answer(req, ch));
    },
    onLine: (l) => void ch.lines.push(l),
    onClose: (l) => void ch.closes.push(l),
    close: () => ch.closes.forEach((l) => l()),
  };
  return ch;
}
interface Fake extends LineChannel {
  lines: Array<(line: string) => void>;
  closes: Array<() => void>;
  sent: string[];
}
const reply = (ch: Fake, id: number, out: unknown) =>
  ch.lines.forEach((l) => l(JSON.stringify({ id, out })));

describe('AttachedProbe', () => {
  it('matches answers to requests by id, whatever their order', async () => {
    const held: Array<() => void> = [];
    const ch = fakeChannel((req, c) => held.push(() => reply(c, req.id, ok(req.q.path))));
    const execs: string[] = [];
    const probe = new AttachedProbe(
      async () => ch,
      async (_e, r) => (execs.push(r.path), ok(r.path)),
    );
    const a = probe.get(endpoint, { path: '/a', timeoutMs: 1000, all: true });
    const b = probe.get(endpoint, { path: '/b', timeoutMs: 1000, all: true });
    for (let i = 0; i < 10 && held.length < 2; i++) await new Promise((r) => setTimeout(r, 1));
    // Answered in reverse, with noise on the line in between.
    held[1]!();
    ch.lines.forEach((l) => l('not json'));
    held[0]!();
    expect(await a).toEqual(ok('/a'));
    expect(await b).toEqual(ok('/b'));
    expect(execs).toEqual([]);
    expect(ch.sent.map((l) => (JSON.parse(l) as { q: { host: string } }).q.host)).toEqual([
      'a.ci.localhost',
      'a.ci.localhost',
    ]);
  });

  it('asks by exec what a lost connection owed, and everything after it', async () => {
    const ch = fakeChannel((_req, c) => c.close());
    const execs: string[] = [];
    const probe = new AttachedProbe(
      async () => ch,
      async (_e, r) => (execs.push(r.path), ok(`exec ${r.path}`)),
    );
    expect(await probe.get(endpoint, { path: '/a', timeoutMs: 1000, all: true })).toEqual(
      ok('exec /a'),
    );
    expect(await probe.get(endpoint, { path: '/b', timeoutMs: 1000, all: true })).toEqual(
      ok('exec /b'),
    );
    expect(execs).toEqual(['/a', '/b']);
    expect(ch.sent).toHaveLength(1);
  });

  it('uses exec when the connection cannot be opened', async () => {
    const execs: string[] = [];
    for (const open of [async () => null, async () => Promise.reject(new Error('refused'))]) {
      const probe = new AttachedProbe(open, async (_e, r) => (execs.push(r.path), ok(r.path)));
      expect(await probe.get(endpoint, { path: '/x', timeoutMs: 1000, all: true })).toEqual(
        ok('/x'),
      );
    }
    expect(execs).toEqual(['/x', '/x']);
  });

  it('gives up on a probe that never answers, as an infrastructure error', async () => {
    const probe = new AttachedProbe(
      async () => fakeChannel(() => undefined),
      async () => ok('never'),
    );
    // The bound is the request's timeout + 15 s: 10 ms here.
    await expect(
      probe.get(endpoint, { path: '/', timeoutMs: -14_990, all: true }),
    ).rejects.toMatchObject({ name: 'InfraError', message: expect.stringMatching(/no answer/) });
  });
});
