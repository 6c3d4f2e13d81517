/**
 * Drone's wire shapes → the intake's own types, at the edge: the workers see a `Build` (its
 * number, status, public link, params, creation time) and never Drone's build JSON.
 */
import { isDone, type DroneBuild, type DroneClient, type DroneStatus } from './drone-client.js';

/** A build's status, in Drone's words (they are stored as `runs.drone_status` and shown). */
export type BuildStatus = DroneStatus;

/** A build of the CI repository, as the intake sees it. */
export interface Build {
  readonly number: number;
  readonly status: BuildStatus;
  /** The status is final: nothing will run any more. */
  readonly done: boolean;
  /** How the build came about (`custom` for the API, `push`, …). */
  readonly event: string;
  /** The build's params (empty when it has none). */
  readonly params: Readonly<Record<string, string>>;
  /** When Drone created it, epoch milliseconds. */
  readonly createdAt: number;
  /** The build this one restarts; null when it is not a restart. */
  readonly parent: number | null;
  /** Drone's error message for the build; null when it has none. */
  readonly error: string | null;
  /** The build's public page (CCCI_DRONE_PUBLIC_URL); null when no public address is set. */
  readonly link: string | null;
}

/** A Drone build's JSON → a build; `link` is its public page. */
export function toBuild(b: DroneBuild, link: string | null): Build {
  return {
    number: b.number,
    status: b.status,
    done: isDone(b.status),
    event: b.event,
    params: b.params ?? {},
    createdAt: b.created * 1000,
    parent: b.parent ? b.parent : null,
    error: b.error ? b.error : null,
    link,
  };
}

/** The Drone calls the intake makes, in its own types. */
export interface DroneBuilds {
  /** Create a custom build on the default branch (DroneClient.createBuild). */
  createBuild(params: Record<string, string>): Promise<Build>;
  /** Newest first; at most 100 a page. */
  listBuilds(page: number, perPage: number): Promise<Build[]>;
  /** null when the build does not exist. */
  getBuild(n: number): Promise<Build | null>;
}

/** The Drone client behind the intake's port: every build it answers is translated here. */
export function droneBuilds(
  drone: Pick<DroneClient, 'createBuild' | 'listBuilds' | 'getBuild' | 'buildLink'>,
): DroneBuilds {
  const build = (b: DroneBuild) => toBuild(b, drone.buildLink(b.number));
  return {
    createBuild: async (params) => build(await drone.createBuild(params)),
    listBuilds: async (page, perPage) => (await drone.listBuilds(page, perPage)).map(build),
    getBuild: async (n) => {
      const b = await drone.getBuild(n);
      return b ? build(b) : null;
    },
  };
}
