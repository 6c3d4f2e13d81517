/**
 * The lint tier (L5): `abra recipe lint` on the exact ref. It needs the abra CLI; without it the
 * rung is `unver` with that reason. Lint never changes the verdict, only the level.
 */
import { parseLintTable } from '../domain/lint.js';
import { runProcess } from '../adapters/process/run-process.js';
import { findOnPath } from '../adapters/process/host-env.js';
import type { Tier, TierContext, TierOutcome } from './types.js';

// abra needs a terminal to print its table. A constant Python script gives it a pseudo-terminal;
// the command comes in as separate argv elements, never through a shell.
const PTY_SCRIPT = 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)';

export const lintTier: Tier = {
  name: 'lint',
  async run(ctx: TierContext): Promise<TierOutcome> {
    const abra = findOnPath('abra');
    if (!abra)
      return {
        status: 'unver',
        reason: 'abra not installed: lint needs the abra CLI (abra recipe lint)',
        code: 'TOOL_MISSING',
        tests: [],
      };
    const res = await runProcess(
      'python3',
      [
        '-c',
        PTY_SCRIPT,
        abra,
        'recipe',
        'lint',
        ctx.head.name,
        '--chaos',
        '--offline',
        '--no-input',
      ],
      {
        cwd: ctx.head.dir,
        timeoutMs: 300_000,
        signal: ctx.signal,
      },
    );
    const rules = parseLintTable(res.stdout);
    if (rules.length === 0) {
      return {
        status: 'unver',
        reason: `could not read abra's lint table (exit ${res.exitCode}): ${ctx.redact(res.stdout.slice(-300))}`,
        code: 'PROCESS_FAILED',
        tests: [],
      };
    }
    const tests = rules.map((r) => ({
      name: `${r.ref} ${r.description}`,
      status: r.satisfied
        ? ('pass' as const)
        : r.severity === 'error'
          ? ('fail' as const)
          : ('pass' as const),
      ms: 0,
      ...(r.satisfied ? {} : { message: `${r.severity}: not satisfied` }),
    }));
    const errors = rules.filter((r) => !r.satisfied && r.severity === 'error');
    return errors.length
      ? { status: 'fail', reason: `lint errors: ${errors.map((e) => e.ref).join(', ')}`, tests }
      : { status: 'pass', tests };
  },
};
