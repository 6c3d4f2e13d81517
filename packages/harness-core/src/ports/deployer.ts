/**
 * The Deployer port: what cc-ci needs from "something that deploys a recipe as an app on a swarm".
 * Two adapters implement it: `abra` (the real CLI) and `docker` (native `docker stack deploy`).
 * Both must pass the shared conformance suite (packages/harness-core/test/conformance/).
 *
 * All types here are our own; no vendor type crosses this boundary.
 */

/** Where Traefik would send the app's traffic. */
export interface AppEndpoint {
  /** The overlay network Traefik shares with the public service (`proxy`). */
  readonly network: string;
  /** Full swarm name of the public service (`<stack>_app`). */
  readonly service: string;
  /** The load-balancer port of its Traefik label. */
  readonly port: number;
  /** The app's domain, sent as Host header (what the router rule matches). */
  readonly hostHeader: string;
}

/** A recipe checked out at one commit, ready to deploy. */
export interface RecipeCheckout {
  /** Recipe name, validated by isRecipeName (domain/naming.ts). */
  readonly name: string;
  /** Directory of the checkout (a per-run directory, never shared). */
  readonly dir: string;
  /** Full 40-hex commit sha the ref resolved to. */
  readonly commit: string;
  /** true when the working tree differs from the commit (local runs of an edited checkout). */
  readonly dirty: boolean;
  /** The recipe version the checkout declares (release tag at that commit, else version label), or null. */
  readonly version: string | null;
  /** Release tags `<semver>+<upstream>` known for the recipe, oldest first. */
  readonly releases: readonly string[];
}

/** What to deploy and how. */
export interface DeployRequest {
  readonly recipe: RecipeCheckout;
  /** App domain, also the abra app name. */
  readonly domain: string;
  /** Stack name derived from the domain as abra does. */
  readonly stack: string;
  /** The complete app env (from .env.sample + CI overrides), without secrets' values. */
  readonly env: Readonly<Record<string, string>>;
  /** Extra compose files (absolute paths) layered after the recipe's COMPOSE_FILE list. */
  readonly overlays: readonly string[];
  /** Chaos mode: deploy the working tree as-is and stamp `coop-cloud.<stack>.chaos-version`. */
  readonly chaos: boolean;
  /** Labels to put on every object created (run id, owner, start time). */
  readonly labels: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** A generated secret: name as in the recipe (`admin_password`), version, and its value. */
export interface GeneratedSecret {
  readonly name: string;
  readonly version: string;
  /** The Docker object name (`<stack>_<name>_<version>`, ≤ 64 chars). */
  readonly dockerName: string;
  readonly value: string;
}

export interface DeployedApp {
  readonly domain: string;
  readonly stack: string;
  /** Service names as in the recipe (`app`, `db`), and their full swarm names. */
  readonly services: ReadonlyArray<{ readonly name: string; readonly fullName: string }>;
  /** Where Traefik would send the app's traffic (reached through the run's probe container). */
  readonly endpoint: AppEndpoint;
  readonly secrets: readonly GeneratedSecret[];
}

export interface Deployer {
  readonly kind: 'docker' | 'abra';
  /** Check the recipe's compose files before anything is created; InputError when they are invalid. */
  validate?(req: DeployRequest): Promise<void>;
  /** Create the app's secrets (values generated per `# length=N` hints). Idempotent per run. */
  createSecrets(req: DeployRequest): Promise<GeneratedSecret[]>;
  /** Deploy (or redeploy/upgrade) the app. Resolves once the swarm accepted the stack. */
  deploy(req: DeployRequest): Promise<DeployedApp>;
  /** Remove the stack and wait until its services, containers and networks are gone. */
  undeploy(stack: string, signal?: AbortSignal): Promise<void>;
  /**
   * Optional: back the app up the deployer's own way (abra: `abra app backup create`, which runs
   * backupbot's hooks and saves the labelled paths). Without it the backup tier does the same
   * from the backupbot labels through the Docker port.
   */
  backup?(stack: string, signal?: AbortSignal): Promise<void>;
  /** Optional: restore the latest backup the deployer's own way (abra: `abra app restore`). */
  restore?(stack: string, signal?: AbortSignal): Promise<void>;
  /** Remove the app's volumes, secrets and configs. */
  removeData(stack: string, signal?: AbortSignal): Promise<void>;
}
