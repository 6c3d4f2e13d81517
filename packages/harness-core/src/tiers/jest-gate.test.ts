import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gate from './jest-gate.js';

const saved = { context: process.env.CCCI_CONTEXT, limit: process.env.CCCI_GATE_MS };
afterEach(() => {
  for (const [name, value] of [
    ['CCCI_CONTEXT', saved.context],
    ['CCCI_GATE_MS', saved.limit],
  ] as const)
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
});

describe('the gate that holds the recipe’s Jest', () => {
  it('opens once the context file exists', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'ccci-gate-')), 'context.json');
    process.env.CCCI_CONTEXT = file;
    let open = false;
    const waiting = gate().then(() => (open = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(open).toBe(false);
    await writeFile(file, '{}');
    await waiting;
    expect(open).toBe(true);
  });

  it('gives up after CCCI_GATE_MS, and without a context to wait for', async () => {
    process.env.CCCI_CONTEXT = join(tmpdir(), 'ccci-gate-never', 'context.json');
    process.env.CCCI_GATE_MS = '50';
    await expect(gate()).rejects.toThrow('did not release the tests within 50 ms');
    delete process.env.CCCI_CONTEXT;
    await expect(gate()).rejects.toThrow('CCCI_CONTEXT is not set');
  });
});
