/** The logging the intake workers need (pino's shape; tests pass a silent one). */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Runs a task under the workers' shared concurrency limit (p-queue in the engine). */
export type Limit = (task: () => Promise<void>) => Promise<void>;
