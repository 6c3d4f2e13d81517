/**
 * The run's logger: every line is redacted, appended to `<runDir>/run.log` and forwarded to the
 * caller's logger (the plugin prints readable lines for people reading Drone logs).
 */
import { appendFileSync } from 'node:fs';
import type { Redactor } from '../domain/redactor.js';
import type { RunLogger } from '../tiers/types.js';

export class FileRunLogger implements RunLogger {
  constructor(
    private readonly file: string,
    private readonly redactor: Redactor,
    private readonly forward: RunLogger,
    private readonly bindings: Record<string, unknown> = {},
    private readonly now: () => Date = () => new Date(),
  ) {}

  private write(
    level: 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ): void {
    const text = this.redactor.redact(message);
    const safeFields = fields
      ? (JSON.parse(this.redactor.redact(JSON.stringify(fields))) as Record<string, unknown>)
      : undefined;
    const tier = typeof this.bindings.tier === 'string' ? `[${this.bindings.tier}] ` : '';
    const extra =
      safeFields && Object.keys(safeFields).length ? ` ${JSON.stringify(safeFields)}` : '';
    try {
      appendFileSync(
        this.file,
        `${this.now().toISOString()} ${level.toUpperCase().padEnd(5)} ${tier}${text}${extra}\n`,
      );
    } catch {
      // The run directory may be gone (e.g. removed by a test); the forward logger still gets it.
    }
    this.forward[level](text, { ...this.bindings, ...safeFields });
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.write('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.write('error', message, fields);
  }
  child(bindings: Record<string, unknown>): RunLogger {
    return new FileRunLogger(
      this.file,
      this.redactor,
      this.forward,
      { ...this.bindings, ...bindings },
      this.now,
    );
  }
}

/** A logger that drops everything (tests, library callers that do not care). */
export const silentLogger: RunLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
