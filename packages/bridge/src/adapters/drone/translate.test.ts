import { describe, expect, it } from '@jest/globals';
import type { DroneBuild } from './drone-client.js';
import { droneBuilds, toBuild } from './translate.js';

const wire: DroneBuild = {
  id: 90,
  number: 12,
  status: 'failure',
  event: 'custom',
  trigger: '@api',
  params: { RECIPE: 'notes' },
  created: 1_746_093_600,
  started: 1_746_093_601,
  finished: 1_746_093_700,
  error: 'exit 1',
};

describe('Drone builds at the edge', () => {
  it('become our own build: ms times, final or not, no omitempty gaps', () => {
    expect(toBuild(wire, 'https://drone.example/ops/cc-ci/12')).toEqual({
      number: 12,
      status: 'failure',
      done: true,
      event: 'custom',
      params: { RECIPE: 'notes' },
      createdAt: 1_746_093_600_000,
      parent: null,
      error: 'exit 1',
      link: 'https://drone.example/ops/cc-ci/12',
    });
    const { params: _, error: __, ...bare } = wire;
    expect(toBuild({ ...bare, status: 'blocked', parent: 11 }, null)).toMatchObject({
      done: false,
      params: {},
      parent: 11,
      error: null,
      link: null,
    });
  });

  it('are translated for every answer of the client, each with its public link', async () => {
    const port = droneBuilds({
      createBuild: async () => wire,
      listBuilds: async () => [wire, { ...wire, number: 13 }],
      getBuild: async (n) => (n === 12 ? wire : null),
      buildLink: (n) => `https://drone.example/ops/cc-ci/${n}`,
    });
    expect((await port.createBuild({})).link).toBe('https://drone.example/ops/cc-ci/12');
    expect((await port.listBuilds(1, 25)).map((b) => b.link)).toEqual([
      'https://drone.example/ops/cc-ci/12',
      'https://drone.example/ops/cc-ci/13',
    ]);
    expect(await port.getBuild(99)).toBeNull();
    expect((await port.getBuild(12))!.createdAt).toBe(1_746_093_600_000);
  });
});
