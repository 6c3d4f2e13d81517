/**
 * The intake's loops: one pass over all pending work every tick (woken early by kick()), and the
 * comment poll every poll interval. A failing step is logged and retried on a later pass; it never
 * stops the loop or the steps after it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './logger.js';
import type { NoteFailure } from './upstream-failures.js';

export interface Step {
  readonly name: string;
  run(): Promise<void>;
}

export interface SchedulerDeps {
  /** The engine's clock, epoch milliseconds. */
  readonly now: () => number;
  readonly log: Pick<Logger, 'warn'>;
  readonly noteFailure: NoteFailure;
  readonly tickMs: number;
  /** 0 = polling off. */
  readonly pollIntervalMs: number;
  /** The least time between two runs of the `watch` step. */
  readonly watchIntervalMs: number;
}

export interface TickPlan {
  /** Runs first; when `open()` is still false after it, the tick ends there (bot login unknown). */
  readonly gate: Step & { open(): boolean };
  /** Run in order, each once per tick. */
  readonly steps: readonly Step[];
  /** Run after the steps, at most once every `watchIntervalMs`. */
  readonly watch: Step;
}

export class Scheduler {
  private stopped = true;
  private wake: (() => void) | null = null;
  private loops: Promise<void>[] = [];
  private lastWatch = 0;
  /** The pass under way (or the last one): the next tick runs after it. */
  private passing: Promise<void> = Promise.resolve();
  /** A pass asked for that has not started yet: later asks join it. */
  private queued: Promise<void> | null = null;
  /** Set by stop(): no pass starts any more (the store may be closing). */
  private closed = false;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly plan: TickPlan,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Start the work loop and, when polling is on, the poll loop running `poll`. Idempotent. */
  start(poll: () => Promise<void>): boolean {
    if (!this.stopped) return false;
    this.stopped = false;
    this.closed = false;
    this.loops = [this.workLoop()];
    if (this.deps.pollIntervalMs > 0) this.loops.push(this.pollLoop(poll));
    return true;
  }

  /** Stop taking new work; resolves once both loops and the pass under way have returned. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.closed = true;
    this.kick();
    await Promise.allSettled([...this.loops, this.passing]);
  }

  /** Wake the work loop now (a delivery or an upload arrived). */
  kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /**
   * One pass over all pending work. Passes never overlap: a tick asked for while one runs (the
   * loop's and a caller's) starts when it ends, so no step runs twice at once (two card syncs of
   * one PR would both find no card and post two). Ticks asked for while one waits to start are
   * that one (it starts after whatever they were asked for). After stop(), a tick does nothing.
   */
  tick(): Promise<void> {
    if (this.queued) return this.queued;
    const queued = this.passing
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.closed ? undefined : this.pass();
      });
    this.queued = queued;
    this.passing = queued;
    return queued;
  }

  private async pass(): Promise<void> {
    if (!(await this.openGate())) return;
    for (const s of this.plan.steps) await this.step(s.name, () => s.run());
    const now = this.deps.now();
    if (now - this.lastWatch >= this.deps.watchIntervalMs) {
      this.lastWatch = now;
      await this.step(this.plan.watch.name, () => this.plan.watch.run());
    }
  }

  /** Run the gate step unless it is open already; whether it is open now. */
  async openGate(): Promise<boolean> {
    const { gate } = this.plan;
    if (!gate.open()) await this.step(gate.name, () => gate.run());
    return gate.open();
  }

  /** Run one step; a failure is counted and logged, never thrown. */
  async step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.noteFailure(err);
      this.deps.log.warn(
        { step: name, err: (err as Error).message },
        'intake step failed; will retry',
      );
    }
  }

  private async pause(ms: number): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async workLoop(): Promise<void> {
    while (!this.stopped) {
      await this.tick();
      await this.pause(this.deps.tickMs);
    }
  }

  private async pollLoop(poll: () => Promise<void>): Promise<void> {
    const interval = this.deps.pollIntervalMs;
    while (!this.stopped) {
      await poll();
      for (let waited = 0; waited < interval && !this.stopped; waited += 200)
        await sleep(Math.min(200, interval - waited));
    }
  }
}
