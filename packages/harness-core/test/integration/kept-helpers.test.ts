/**
 * Volume helpers kept between scripts, on the real daemon: one container per volume serves every
 * script through docker exec, with the same sandbox as a fresh helper; a helper removed behind
 * cc-ci's back is replaced; removing the volume first removes its helper; nothing is left after
 * release.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createDocker } from '../../src/adapters/docker/engine-api.js';
import { docker } from '../support/fixtures.js';

const runId = `kept-${randomBytes(3).toString('hex')}`;
const volume = `ccci-kept-${runId}_data`;
const labels = { 'cc-ci.run-id': runId };
const helper = { image: 'ccci/web:1', volume, labels };
const port = createDocker();

const helpersOnDaemon = async () =>
  (await docker('ps', '-aq', '--filter', `label=cc-ci.run-id=${runId}`))
    .trim()
    .split('\n')
    .filter(Boolean);

afterAll(async () => {
  await port.releaseVolumeHelpers();
  const left = await helpersOnDaemon();
  if (left.length) await docker('rm', '--force', ...left);
  await docker('volume', 'rm', '--force', volume).catch(() => undefined);
}, 60_000);

describe('kept volume helpers', () => {
  it('run every script on a volume in one sandboxed container, and leave nothing', async () => {
    const write = await port.volumeScript(helper, 'cat > "/volume/$1"', ['note.txt'], 'hello\n');
    expect(write.exitCode).toBe(0);
    // One helper, alive between scripts (a `docker run --rm` per script would leave none).
    const first = await helpersOnDaemon();
    expect(first).toHaveLength(1);
    const read = await port.volumeScript(helper, 'cat "/volume/$1"', ['note.txt']);
    expect(read).toMatchObject({ exitCode: 0, stdout: 'hello\n' });
    // A script's own failure is its exit code, not a retry.
    expect((await port.volumeScript(helper, 'exit 3', [])).exitCode).toBe(3);
    expect(await helpersOnDaemon()).toEqual(first);
    const id = first[0]!;
    // The sandbox of a fresh helper: no network but loopback, no extra privileges.
    const nets = await port.volumeScript(helper, 'ls /sys/class/net', []);
    expect(nets.stdout.trim().split(/\s+/)).toEqual(['lo']);
    const sandbox = await port.volumeScript(
      helper,
      'grep -E "^(NoNewPrivs|CapEff)" /proc/self/status',
      [],
    );
    // CHOWN (bit 0), DAC_OVERRIDE (1) and FOWNER (3) only.
    expect(sandbox.stdout).toMatch(/CapEff:\s+000000000000000b/);
    expect(sandbox.stdout).toMatch(/NoNewPrivs:\s+1/);

    // Removed behind cc-ci's back: the next script gets a new helper and the data is still there.
    await docker('rm', '--force', id);
    expect(await port.volumeScript(helper, 'cat "/volume/$1"', ['note.txt'])).toMatchObject({
      exitCode: 0,
      stdout: 'hello\n',
    });
    const [second] = await helpersOnDaemon();
    expect(second).not.toBe(id);

    // Removing the volume removes the helper that holds it first.
    expect(await port.removeObject('volume', volume)).toBe(true);
    expect(await helpersOnDaemon()).toEqual([]);

    await port.volumeScript(helper, 'true', []);
    expect(await helpersOnDaemon()).toHaveLength(1);
    expect(await port.releaseVolumeHelpers()).toBe(1);
    expect(await helpersOnDaemon()).toEqual([]);
  }, 60_000);
});
