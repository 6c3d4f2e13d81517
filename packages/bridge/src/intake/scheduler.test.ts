import { describe, expect, it } from '@jest/globals';
import { Scheduler, type SchedulerDeps, type TickPlan } from './scheduler.js';

/** A scheduler over recorded steps and a hand-moved clock; no loop is started, so no timers. */
function setup(o: { gateOpens?: boolean; failing?: string; watchIntervalMs?: number } = {}) {
  let now = 1_000_000;
  const ran: string[] = [];
  const failures: unknown[] = [];
  const warnings: object[] = [];
  let gateOpen = false;
  const step = (name: string) => ({
    name,
    run: async () => {
      ran.push(name);
      if (name === o.failing) throw new Error(`${name} broke`);
    },
  });
  const plan: TickPlan = {
    gate: {
      name: 'bot-login',
      run: async () => {
        ran.push('bot-login');
        gateOpen = o.gateOpens ?? true;
      },
      open: () => gateOpen,
    },
    steps: [step('deliveries'), step('accepted'), step('queued')],
    watch: step('watch'),
  };
  const deps: SchedulerDeps = {
    now: () => now,
    log: { warn: (obj) => void warnings.push(obj) },
    noteFailure: (err) => void failures.push(err),
    tickMs: 1_000,
    pollIntervalMs: 0,
    watchIntervalMs: o.watchIntervalMs ?? 5_000,
  };
  const scheduler = new Scheduler(deps, plan);
  const take = () => ran.splice(0);
  return { scheduler, take, failures, warnings, advance: (ms: number) => (now += ms) };
}

describe('Scheduler', () => {
  it('never runs two passes at once: a tick asked for during one runs after it, and asks that wait are one', async () => {
    const log: string[] = [];
    let active = 0;
    const step = {
      name: 'cards',
      run: async () => {
        active++;
        log.push(`start ${active}`);
        await new Promise((r) => setTimeout(r, 20));
        active--;
        log.push('end');
      },
    };
    const scheduler = new Scheduler(
      {
        now: () => 0,
        log: { warn: () => undefined },
        noteFailure: () => undefined,
        tickMs: 1_000,
        pollIntervalMs: 0,
        watchIntervalMs: 5_000,
      },
      {
        gate: { name: 'gate', run: async () => undefined, open: () => true },
        steps: [step],
        watch: { name: 'watch', run: async () => undefined },
      },
    );
    const first = scheduler.tick();
    // Asked for before the first pass started: they are that pass.
    expect(scheduler.tick()).toBe(first);
    await new Promise((r) => setTimeout(r, 5));
    expect(log).toEqual(['start 1']);
    // Asked for while it runs: one more pass, after it; the third joins the second.
    const second = scheduler.tick();
    expect(scheduler.tick()).toBe(second);
    await Promise.all([first, second]);
    expect(log).toEqual(['start 1', 'end', 'start 1', 'end']);
  });

  it('starts no pass after stop(), and stop() waits for the pass under way', async () => {
    const log: string[] = [];
    let release: () => void = () => undefined;
    const scheduler = new Scheduler(
      {
        now: () => 0,
        log: { warn: () => undefined },
        noteFailure: () => undefined,
        tickMs: 60_000,
        pollIntervalMs: 0,
        watchIntervalMs: 5_000,
      },
      {
        gate: { name: 'gate', run: async () => undefined, open: () => true },
        steps: [
          {
            name: 'slow',
            run: async () => {
              log.push('start');
              await new Promise<void>((r) => (release = r));
              log.push('end');
            },
          },
        ],
        watch: { name: 'watch', run: async () => undefined },
      },
    );
    const first = scheduler.tick();
    const second = scheduler.tick();
    await new Promise((r) => setImmediate(r));
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await Promise.all([first, second, stopping]);
    await scheduler.tick();
    expect(log).toEqual(['start', 'end']);
  });

  it('runs the gate, every step in order, then the watch when a tick runs', async () => {
    const s = setup();
    await s.scheduler.tick();
    expect(s.take()).toEqual(['bot-login', 'deliveries', 'accepted', 'queued', 'watch']);
  });

  it('asks for the gate only until it is open', async () => {
    const s = setup();
    await s.scheduler.tick();
    s.take();
    s.advance(5_000);
    await s.scheduler.tick();
    expect(s.take()).toEqual(['deliveries', 'accepted', 'queued', 'watch']);
  });

  it('runs no step when the gate stays closed (the bot login is unknown)', async () => {
    const s = setup({ gateOpens: false });
    await s.scheduler.tick();
    await s.scheduler.tick();
    expect(s.take()).toEqual(['bot-login', 'bot-login']);
    expect(await s.scheduler.openGate()).toBe(false);
  });

  it('runs the watch at most once per watch interval of the injected clock', async () => {
    const s = setup({ watchIntervalMs: 5_000 });
    await s.scheduler.tick();
    expect(s.take()).toContain('watch');
    s.advance(4_999);
    await s.scheduler.tick();
    expect(s.take()).not.toContain('watch');
    s.advance(1);
    await s.scheduler.tick();
    expect(s.take()).toContain('watch');
  });

  it('counts and logs a failing step, and still runs the steps after it', async () => {
    const s = setup({ failing: 'accepted' });
    await s.scheduler.tick();
    expect(s.take()).toEqual(['bot-login', 'deliveries', 'accepted', 'queued', 'watch']);
    expect(s.failures).toEqual([new Error('accepted broke')]);
    expect(s.warnings).toEqual([{ step: 'accepted', err: 'accepted broke' }]);
  });

  it('is stopped until started, and stop() without start() resolves at once', async () => {
    const s = setup();
    expect(s.scheduler.isStopped).toBe(true);
    s.scheduler.kick(); // nothing waits: a no-op
    await s.scheduler.stop();
    expect(s.scheduler.isStopped).toBe(true);
  });
});
