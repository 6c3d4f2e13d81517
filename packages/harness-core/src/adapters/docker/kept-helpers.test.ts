import { describe, expect, it } from '@jest/globals';
import type { VolumeHelper } from '../../ports/docker.js';
import { HELPER_GONE, KeptHelpers } from './kept-helpers.js';

const helper = (volume: string, labels: Record<string, string> = { 'cc-ci.run-id': 'r1' }) =>
  ({ image: 'ccci/web:1', volume, labels }) satisfies VolumeHelper;

function kept(opts: { failFirstStart?: boolean } = {}) {
  const started: string[] = [];
  const removed: string[] = [];
  let n = 0;
  const helpers = new KeptHelpers(
    async (h) => {
      n++;
      if (opts.failFirstStart && n === 1) throw new Error('daemon said no');
      const id = `${h.volume}#${n}`;
      started.push(id);
      return id;
    },
    async (ids) => {
      removed.push(...ids);
    },
  );
  return { helpers, started, removed };
}

describe('KeptHelpers', () => {
  it('starts one helper per volume and label set, and reuses it', async () => {
    const { helpers, started } = kept();
    expect(await helpers.get(helper('s_data'))).toBe('s_data#1');
    expect(await helpers.get(helper('s_data'))).toBe('s_data#1');
    expect(await helpers.get(helper('s_db'))).toBe('s_db#2');
    expect(await helpers.get(helper('s_data', { 'cc-ci.run-id': 'r2' }))).toBe('s_data#3');
    expect(started).toHaveLength(3);
  });

  it('removes the helpers on a volume before it goes, and every other one on release', async () => {
    const { helpers, removed } = kept();
    await helpers.get(helper('s_data'));
    await helpers.get(helper('s_db'));
    expect(await helpers.releaseVolume('s_data')).toBe(1);
    expect(removed).toEqual(['s_data#1']);
    // The next script on that volume gets a fresh helper.
    expect(await helpers.get(helper('s_data'))).toBe('s_data#3');
    expect(await helpers.release()).toBe(2);
    expect(removed.sort()).toEqual(['s_data#1', 's_data#3', 's_db#2']);
    expect(await helpers.release()).toBe(0);
  });

  it('keeps a read-only helper apart from the read-write one, and removes both with the volume', async () => {
    const { helpers, removed } = kept();
    expect(await helpers.get(helper('s_data'))).toBe('s_data#1');
    expect(await helpers.get({ ...helper('s_data'), readOnly: true })).toBe('s_data#2');
    expect(await helpers.get({ ...helper('s_data'), readOnly: true })).toBe('s_data#2');
    expect(await helpers.get({ ...helper('s_data'), readOnly: false })).toBe('s_data#1');
    expect(await helpers.releaseVolume('s_data')).toBe(2);
    expect(removed.sort()).toEqual(['s_data#1', 's_data#2']);
  });

  it('does not keep a helper that failed to start', async () => {
    const { helpers } = kept({ failFirstStart: true });
    await expect(helpers.get(helper('s_data'))).rejects.toThrow('daemon said no');
    expect(await helpers.get(helper('s_data'))).toBe('s_data#2');
  });

  it('discards one helper (gone, or a script in it timed out)', async () => {
    const { helpers, removed } = kept();
    await helpers.get(helper('s_data'));
    expect(await helpers.discard(helper('s_data'))).toBe(1);
    expect(removed).toEqual(['s_data#1']);
    expect(await helpers.get(helper('s_data'))).toBe('s_data#2');
  });

  it("knows docker exec's words for a helper that is gone, not a script's failure", () => {
    expect(HELPER_GONE.test('Error response from daemon: Container 4f2a is not running')).toBe(
      true,
    );
    expect(HELPER_GONE.test('Error response from daemon: No such container: 4f2a')).toBe(true);
    expect(HELPER_GONE.test("cat: can't open '/volume/x': No such file or directory")).toBe(false);
  });
});
