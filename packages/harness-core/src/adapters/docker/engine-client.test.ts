import { describe, expect, it } from '@jest/globals';
import { daemonMessage, FrameSplitter } from './engine-client.js';

const frame = (type: number, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('FrameSplitter', () => {
  const split = (chunks: Buffer[]) => {
    const seen: Array<[number, string]> = [];
    const s = new FrameSplitter((type, payload) => seen.push([type, payload.toString()]));
    for (const c of chunks) s.push(c);
    return seen;
  };

  it('splits frames whatever the chunk boundaries, headers cut in two included', () => {
    const stream = Buffer.concat([frame(1, 'out'), frame(2, 'err'), frame(1, ''), frame(1, 'é!')]);
    const whole = split([stream]);
    expect(whole).toEqual([
      [1, 'out'],
      [2, 'err'],
      [1, ''],
      [1, 'é!'],
    ]);
    // Byte by byte, and cut at every offset: the same frames.
    expect(split([...stream].map((b) => Buffer.from([b])))).toEqual(whole);
    for (let i = 1; i < stream.length; i++)
      expect(split([stream.subarray(0, i), stream.subarray(i)])).toEqual(whole);
  });

  it('keeps an incomplete frame until the rest arrives', () => {
    const f = frame(1, 'hello');
    expect(split([f.subarray(0, 10)])).toEqual([]);
    expect(split([f.subarray(0, 10), f.subarray(10)])).toEqual([[1, 'hello']]);
  });
});

describe('daemonMessage', () => {
  it("reads the daemon's message, or the body as it is", () => {
    expect(daemonMessage({ status: 404, body: '{"message":"No such container: x"}\n' })).toBe(
      'No such container: x',
    );
    expect(daemonMessage({ status: 500, body: 'page not found\n' })).toBe('page not found');
  });
});
