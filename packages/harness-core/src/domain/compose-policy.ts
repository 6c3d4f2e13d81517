/**
 * The compose policy (issue 13): what a recipe's own compose files may not ask of the CI host,
 * checked before anything is created. A PR's compose files run with the runner's Docker socket,
 * so a bind mount of `/`, `privileged: true` or `network_mode: host` would give that PR root on
 * the CI host. The only way to allow one is an exception in the operator-owned
 * `recipes/<name>/cc-ci.yml` (`compose_policy_exceptions`), never in the recipe itself.
 *
 * `checkComposePolicy` is pure: it reads the parsed documents it is given. Confinement of file
 * references to the checkout needs the file system (symlinks): `checkComposePolicyOnDisk`
 * resolves each reference with `confinePath` (fs.realpath) and then runs the pure check.
 *
 * Interpolation (`${VAR}`, `$VAR`): a value the policy judges (a mount source, a file path,
 * `network_mode`, `privileged`, a `security_opt` entry, ...) that contains `$` is refused, because
 * its value is only known at deploy time and could name a host path or `host`. Named volumes
 * are literal names; `$$` (compose's escaped dollar) counts too — a recipe rarely needs either.
 * See docs/security.md, "Compose policy".
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors.js';

/** The rule keys a violation (and an exception) names. */
export const COMPOSE_POLICY_RULES = [
  'bind_mount',
  'privileged',
  'cap_add',
  'devices',
  'network_mode',
  'pid',
  'ipc',
  'uts',
  'userns_mode',
  'cgroup',
  'cgroup_parent',
  'security_opt',
  'host_network',
  'extends',
  'include',
  'outside_checkout',
] as const;
export type ComposePolicyRule = (typeof COMPOSE_POLICY_RULES)[number];

/** One refused setting. */
export interface ComposePolicyViolation {
  /** The compose file, relative to the checkout (`COMPOSE_FILE` for that list itself). */
  readonly file: string;
  /**
   * The service; for top-level definitions `volumes.<name>`, `networks.<name>`,
   * `configs.<name>`, `secrets.<name>`; `(top level)` for `include`; `COMPOSE_FILE` for its entries.
   */
  readonly service: string;
  /** The compose key as written (`volumes`, `cap_add`, `driver_opts`, `env_file`, ...). */
  readonly key: string;
  readonly rule: ComposePolicyRule;
  /** The offending value (mount source, capability, path, mode), matched by exceptions. */
  readonly value: string;
  readonly reason: string;
}

/** An operator exception (`compose_policy_exceptions` in cc-ci.yml). */
export interface ComposePolicyException {
  readonly service: string;
  readonly key: ComposePolicyRule;
  /** When set, only this exact value is allowed (e.g. `/var/run/docker.sock`). */
  readonly value?: string | undefined;
  readonly reason: string;
}

export interface ComposeDocument {
  /** Absolute path of the compose file (or relative to the checkout). */
  readonly file: string;
  readonly doc: unknown;
}

export interface ComposePolicyInput {
  /** The recipe's own compose documents (not the operator's CI overlays). */
  readonly docs: readonly ComposeDocument[];
  /** The recipe checkout (absolute). */
  readonly checkoutDir: string;
  /** COMPOSE_FILE entries as given (relative to the checkout, or absolute). */
  readonly composeFiles?: readonly string[];
  /** Relative paths inside compose files resolve from here; default: the checkout. */
  readonly projectDir?: string;
  readonly exceptions?: readonly ComposePolicyException[];
  /**
   * Real (symlink-resolved) confinement of each file reference, keyed by its lexical absolute
   * path (`FileReference.path`); `false` = resolves outside the checkout. Missing = lexical only.
   */
  readonly confined?: ReadonlyMap<string, boolean>;
}

export interface ComposePolicyResult {
  /** What is refused: non-empty means the run must not start. */
  readonly violations: readonly ComposePolicyViolation[];
  /** Violations an exception allowed, with the exception (for the run log). */
  readonly allowed: ReadonlyArray<{
    readonly violation: ComposePolicyViolation;
    readonly exception: ComposePolicyException;
  }>;
}

/** A path a compose file (or COMPOSE_FILE) points at, which must stay inside the checkout. */
export interface FileReference {
  readonly file: string;
  readonly service: string;
  readonly key: string;
  /** As written. */
  readonly written: string;
  /** Lexically resolved absolute path (null when it cannot be resolved: interpolation). */
  readonly path: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasInterpolation = (s: string): boolean => s.includes('$');
const str = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

/**
 * Apply YAML merge keys (`<<: *base`), which compose honours but the YAML 1.2 parser leaves as
 * a plain `<<` key: a privileged anchor merged into a service must count.
 */
function merged(value: unknown, depth = 0): Obj {
  if (!isObj(value)) return {};
  const base = value['<<'];
  if (base === undefined || depth > 8) return value;
  const sources = (Array.isArray(base) ? base : [base]).map((b) => merged(b, depth + 1));
  const out = Object.create(null) as Obj; // a `__proto__` key stays a plain key
  for (const s of sources.reverse()) Object.assign(out, s);
  for (const [k, v] of Object.entries(value)) if (k !== '<<') out[k] = v;
  return out;
}

const entriesOf = (v: unknown): Array<[string, unknown]> =>
  isObj(v) ? Object.entries(merged(v)) : [];
const listOf = (v: unknown): unknown[] =>
  Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];

const DOCKER_SOCKET = /(^|\/)docker\.sock$|^\/var\/run\/docker$|^\/run\/docker$/;
const NAMED_VOLUME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function bindReason(source: string): string {
  if (hasInterpolation(source)) {
    return `mount source "${source}" is interpolated and could name a host path; use a named volume`;
  }
  if (DOCKER_SOCKET.test(source.replace(/\/+$/, ''))) {
    return `bind mount of the Docker socket ${source} gives the recipe root on the CI host`;
  }
  return `bind mount of host path ${source}: a recipe may use named volumes only`;
}

/** The host side of one `services.*.volumes` entry, when it is not a named/anonymous volume. */
function bindSource(entry: unknown): string | null {
  if (typeof entry === 'string') {
    const colon = entry.indexOf(':');
    if (colon < 0) return hasInterpolation(entry) ? entry : null; // anonymous volume
    const source = entry.slice(0, colon);
    return NAMED_VOLUME.test(source) ? null : source;
  }
  if (!isObj(entry)) return null;
  const type = str(entry.type);
  const source = str(entry.source ?? entry.src);
  if (['volume', 'tmpfs', 'image', 'cluster'].includes(type)) {
    return type === 'volume' && source !== '' && !NAMED_VOLUME.test(source) ? source : null;
  }
  if (type === '' && (source === '' || NAMED_VOLUME.test(source))) return null;
  return source || `(${type || 'no'} source)`;
}

/** `security_opt` entries that switch confinement off (either `=` or `:` separator). */
function unconfining(entry: string): boolean {
  const e = entry.replace(/\s+/g, '').toLowerCase();
  return (
    hasInterpolation(e) ||
    /^seccomp[=:]/.test(e) || // unconfined, or a profile file read from the host
    /^apparmor[=:]unconfined$/.test(e) ||
    /^label[=:](disable|type:spc_t)$/.test(e) ||
    /^systempaths[=:]unconfined$/.test(e) ||
    /^no-new-privileges[=:]false$/.test(e)
  );
}

/** `host`, another container's or service's namespace, or an interpolated mode. */
const sharesNamespace = (mode: string): boolean =>
  mode === 'host' || /^(container|service):/.test(mode) || hasInterpolation(mode);

/** Only an explicit false (or unset) is safe: `1`, `"yes"`, `${PRIV}` could all mean true. */
const trueLike = (v: unknown): boolean =>
  !(
    v === false ||
    v === null ||
    v === 0 ||
    (typeof v === 'string' && /^(false|no|off|n|0)$/i.test(v.trim()))
  );

function resolveRef(
  written: string,
  fromDir: string,
): { path: string | null; lexicalReason: string | null } {
  if (hasInterpolation(written)) {
    return { path: null, lexicalReason: `path "${written}" is interpolated` };
  }
  if (written.startsWith('~'))
    return { path: null, lexicalReason: `path ${written} is in a home directory` };
  if (isAbsolute(written))
    return { path: resolve(written), lexicalReason: `${written} is an absolute path` };
  return { path: resolve(fromDir, written), lexicalReason: null };
}

const inside = (dir: string, path: string): boolean => {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

interface Collected {
  violations: ComposePolicyViolation[];
  refs: FileReference[];
}

/** A refused setting as a rule finds it, before it is given its file and service. */
type Finding = Omit<ComposePolicyViolation, 'file' | 'service'>;

/** A finding, its fields in the order a violation lists them. */
const finding = (key: string, rule: ComposePolicyRule, value: string, reason: string): Finding => ({
  key,
  rule,
  value,
  reason,
});

/** A check of one service (merge keys applied): what it finds refused. */
type ServiceRule = (svc: Obj) => Finding[];

/** `volumes` entries that bind a host path (or could: interpolated). */
const bindMounts: ServiceRule = (svc) =>
  listOf(svc.volumes).flatMap((entry) => {
    const source = bindSource(entry);
    return source === null ? [] : [finding('volumes', 'bind_mount', source, bindReason(source))];
  });

/** `volumes_from` a container outside the recipe. */
const volumesFrom: ServiceRule = (svc) =>
  listOf(svc.volumes_from)
    .map(str)
    .filter((e) => /^container:/.test(e) || hasInterpolation(e))
    .map((e) =>
      finding(
        'volumes_from',
        'bind_mount',
        e,
        `mounts the volumes of container ${e}, which is not part of the recipe`,
      ),
    );

/** `privileged` set to anything but an explicit false. */
const privileged: ServiceRule = (svc) =>
  svc.privileged !== undefined && trueLike(svc.privileged)
    ? [
        finding(
          'privileged',
          'privileged',
          str(svc.privileged),
          'a privileged container is root on the CI host',
        ),
      ]
    : [];

/** Every `cap_add` entry. */
const capAdd: ServiceRule = (svc) =>
  listOf(svc.cap_add).map((cap) =>
    finding(
      'cap_add',
      'cap_add',
      str(cap),
      `adds capability ${str(cap)}: a recipe runs with Docker's default capabilities`,
    ),
  );

/** Every host device (`devices`, short or long form). */
const devices: ServiceRule = (svc) =>
  listOf(svc.devices).map((dev) => {
    const d = isObj(dev) ? str(dev.source ?? dev.host_path) : str(dev);
    return finding('devices', 'devices', d, `gives the container the host device ${d}`);
  });

/** Every `device_cgroup_rules` entry. */
const deviceCgroupRules: ServiceRule = (svc) =>
  listOf(svc.device_cgroup_rules).map((rule) =>
    finding(
      'device_cgroup_rules',
      'devices',
      str(rule),
      `lets the container use host devices (${str(rule)})`,
    ),
  );

/** The service keys that share a namespace; each is its own rule. */
const NAMESPACE_KEYS = ['network_mode', 'pid', 'ipc', 'uts', 'userns_mode', 'cgroup'] as const;

/** The rule for one namespace key: `host`, another container's or an interpolated mode. */
const sharedNamespace =
  (key: (typeof NAMESPACE_KEYS)[number]): ServiceRule =>
  (svc) => {
    const mode = str(svc[key]).trim();
    return mode !== '' && sharesNamespace(mode)
      ? [
          finding(
            key,
            key,
            mode,
            `${key}: ${mode} shares a namespace with the CI host or with a container outside the recipe`,
          ),
        ]
      : [];
  };

/** Any `cgroup_parent`. */
const cgroupParent: ServiceRule = (svc) =>
  svc.cgroup_parent !== undefined
    ? [
        finding(
          'cgroup_parent',
          'cgroup_parent',
          str(svc.cgroup_parent),
          'places the container in a host cgroup of its choosing',
        ),
      ]
    : [];

/** `security_opt` entries that switch confinement off. */
const securityOpt: ServiceRule = (svc) =>
  listOf(svc.security_opt)
    .map(str)
    .filter(unconfining)
    .map((opt) =>
      finding(
        'security_opt',
        'security_opt',
        opt,
        `security_opt ${opt} switches off the container's confinement`,
      ),
    );

/** `extends` from another file. */
const extendsFile: ServiceRule = (svc) =>
  isObj(svc.extends) && svc.extends.file !== undefined
    ? [
        finding(
          'extends',
          'extends',
          str(svc.extends.file),
          'extends a service from another file the policy does not check; inline it',
        ),
      ]
    : [];

/** Every service rule, in the order its violations are reported. */
const SERVICE_RULES: readonly ServiceRule[] = [
  bindMounts,
  volumesFrom,
  privileged,
  capAdd,
  devices,
  deviceCgroupRules,
  ...NAMESPACE_KEYS.map(sharedNamespace),
  cgroupParent,
  securityOpt,
  extendsFile,
];

/** A top-level `include`, which pulls in files the policy does not check. */
function includeFinding(top: Obj): Finding | null {
  if (top.include === undefined) return null;
  return finding(
    'include',
    'include',
    listOf(top.include).map(str).join(', '),
    'includes other compose files the policy does not check; list them in COMPOSE_FILE',
  );
}

/** A top-level volume whose local driver options bind a host path. */
function volumeFinding(raw: unknown): Finding | null {
  const vol = merged(raw);
  const driver = str(vol.driver);
  const opts = merged(vol.driver_opts);
  if (driver !== '' && driver !== 'local' && !hasInterpolation(driver)) return null;
  const o = str(opts.o);
  const type = str(opts.type);
  const device = str(opts.device);
  if (
    /(^|,)\s*r?bind\s*(,|$)/.test(o) ||
    type === 'none' ||
    type === 'bind' ||
    (device !== '' && hasInterpolation(device + o + type))
  ) {
    return finding('driver_opts', 'bind_mount', device || o, bindReason(device || o));
  }
  return null;
}

/** A top-level network that is the host's network stack (by driver or external name). */
function networkFinding(name: string, raw: unknown): Finding | null {
  const net = merged(raw);
  const driver = str(net.driver);
  const ext = net.external;
  const extName = isObj(ext) ? str(ext.name) : '';
  const netName = str(net.name) || extName || name;
  if (driver === 'host' || hasInterpolation(driver)) {
    return finding(
      'driver',
      'host_network',
      driver,
      `network driver ${driver} puts services on the CI host's network stack`,
    );
  }
  if (ext !== undefined && ext !== false && (netName === 'host' || hasInterpolation(netName))) {
    return finding(
      'external',
      'host_network',
      netName,
      `external network ${netName} is the CI host's network stack`,
    );
  }
  return null;
}

/**
 * Every refused setting of one compose document (merge keys applied at the top), in order:
 * `include`, each service's rules, top-level volumes, then networks.
 */
function documentViolations(file: string, top: Obj): ComposePolicyViolation[] {
  const at =
    (service: string) =>
    (f: Finding): ComposePolicyViolation => ({ file, service, ...f });
  const include = includeFinding(top);
  return [
    ...(include ? [at('(top level)')(include)] : []),
    ...entriesOf(top.services).flatMap(([service, rawSvc]) => {
      const svc = merged(rawSvc);
      return SERVICE_RULES.flatMap((rule) => rule(svc)).map(at(service));
    }),
    ...entriesOf(top.volumes).flatMap(([name, raw]) => {
      const f = volumeFinding(raw);
      return f ? [at(`volumes.${name}`)(f)] : [];
    }),
    ...entriesOf(top.networks).flatMap(([name, raw]) => {
      const f = networkFinding(name, raw);
      return f ? [at(`networks.${name}`)(f)] : [];
    }),
  ];
}

/**
 * The file references of one compose document (services' `env_file`, then `configs` and
 * `secrets` `file`), resolved from `projectDir`; an empty reference is none.
 */
function documentRefs(file: string, top: Obj, projectDir: string): FileReference[] {
  const ref = (service: string, key: string, written: unknown): FileReference[] => {
    const w = str(written);
    if (w === '') return [];
    return [{ file, service, key, written: w, path: resolveRef(w, projectDir).path }];
  };
  return [
    ...entriesOf(top.services).flatMap(([service, rawSvc]) =>
      listOf(merged(rawSvc).env_file).flatMap((entry, i) =>
        ref(service, `env_file[${i}]`, isObj(entry) ? entry.path : entry),
      ),
    ),
    ...(['configs', 'secrets'] as const).flatMap((kind) =>
      entriesOf(top[kind]).flatMap(([name, raw]) =>
        ref(`${kind}.${name}`, 'file', merged(raw).file),
      ),
    ),
  ];
}

/** The COMPOSE_FILE entries as file references, resolved from the checkout. */
function composeFileRefs(composeFiles: readonly string[], checkoutDir: string): FileReference[] {
  return composeFiles.map((written, i) => ({
    file: 'COMPOSE_FILE',
    service: 'COMPOSE_FILE',
    key: `COMPOSE_FILE[${i}]`,
    written,
    path: resolveRef(written, checkoutDir).path,
  }));
}

/**
 * The violation of a file reference that leaves the checkout (interpolated, in a home
 * directory, absolute, outside, or through a symlink), or null when it stays inside.
 */
function outsideCheckout(
  r: FileReference,
  checkoutDir: string,
  projectDir: string,
  confined: ReadonlyMap<string, boolean> | undefined,
): ComposePolicyViolation | null {
  const { path, lexicalReason } = resolveRef(
    r.written,
    r.file === 'COMPOSE_FILE' ? checkoutDir : projectDir,
  );
  let reason = lexicalReason;
  if (reason === null && path !== null && !inside(checkoutDir, path))
    reason = `${r.written} is outside the checkout`;
  if (reason === null && path !== null && confined?.get(path) === false) {
    reason = `${r.written} resolves (through a symlink) outside the checkout`;
  }
  if (reason === null) return null;
  return {
    file: r.file,
    service: r.service,
    key: r.key,
    rule: 'outside_checkout',
    value: r.written,
    reason: `${reason}: a recipe may read files of its own checkout only`,
  };
}

/** A compose file's name in violations: relative to the checkout when inside it, else absolute. */
function displayFile(checkoutDir: string, rawFile: string): string {
  const absFile = resolve(checkoutDir, rawFile);
  return inside(checkoutDir, absFile)
    ? relative(checkoutDir, absFile) || basename(absFile)
    : absFile;
}

/** Every violation (before exceptions) and every file reference of the input, in report order. */
function collect(input: ComposePolicyInput): Collected {
  const checkoutDir = resolve(input.checkoutDir);
  const projectDir = resolve(input.projectDir ?? checkoutDir);
  const violations: ComposePolicyViolation[] = [];
  const refs = composeFileRefs(input.composeFiles ?? [], checkoutDir);
  for (const { file: rawFile, doc } of input.docs) {
    const file = displayFile(checkoutDir, rawFile);
    const top = merged(doc);
    violations.push(...documentViolations(file, top));
    refs.push(...documentRefs(file, top, projectDir));
  }
  for (const r of refs) {
    const v = outsideCheckout(r, checkoutDir, projectDir, input.confined);
    if (v) violations.push(v);
  }
  return { violations, refs };
}

const matches = (e: ComposePolicyException, v: ComposePolicyViolation): boolean =>
  e.service === v.service && e.key === v.rule && (e.value === undefined || e.value === v.value);

/**
 * The settings of the recipe's compose documents the policy refuses, minus those an operator
 * exception allows. Never throws on malformed documents (compose itself reports those).
 */
export function checkComposePolicy(input: ComposePolicyInput): ComposePolicyResult {
  const { violations: all } = collect(input);
  const violations: ComposePolicyViolation[] = [];
  const allowed: Array<{ violation: ComposePolicyViolation; exception: ComposePolicyException }> =
    [];
  for (const violation of all) {
    const exception = (input.exceptions ?? []).find((e) => matches(e, violation));
    if (exception) allowed.push({ violation, exception });
    else violations.push(violation);
  }
  return { violations, allowed };
}

/** The file references (env_file, configs/secrets `file`, COMPOSE_FILE) that must stay inside. */
export function fileReferences(input: ComposePolicyInput): FileReference[] {
  return collect(input).refs;
}

/**
 * Whether `path` resolves, after symlinks, inside `checkoutDir`. A path that does not exist is
 * judged by its nearest existing ancestor (a symlinked directory still counts).
 */
export async function confinePath(checkoutDir: string, path: string): Promise<boolean> {
  const root = await realpath(checkoutDir);
  let probe = resolve(checkoutDir, path);
  let rest = '';
  for (;;) {
    try {
      const real = await realpath(probe);
      return inside(root, rest ? join(real, rest) : real);
    } catch {
      const parent = dirname(probe);
      if (parent === probe) return false;
      rest = rest ? join(basename(probe), rest) : basename(probe);
      probe = parent;
    }
  }
}

/** `checkComposePolicy` with every file reference resolved through the file system first. */
export async function checkComposePolicyOnDisk(
  input: ComposePolicyInput,
): Promise<ComposePolicyResult> {
  const confined = new Map<string, boolean>();
  for (const r of fileReferences(input)) {
    if (r.path !== null && !confined.has(r.path)) {
      confined.set(r.path, await confinePath(input.checkoutDir, r.path));
    }
  }
  return checkComposePolicy({ ...input, confined });
}

/** One message naming every violation: file, service, key, reason, and how to allow it. */
export function formatComposePolicyViolations(
  violations: readonly ComposePolicyViolation[],
  configFile = 'recipes/<recipe>/cc-ci.yml',
): string {
  const lines = violations.map(
    (v) => `${v.file}: service "${v.service}", key "${v.key}": ${v.reason}`,
  );
  return `the recipe's compose files ask for ${violations.length === 1 ? 'a setting' : `${violations.length} settings`} the compose policy refuses: ${lines.join('; ')}. Remove ${violations.length === 1 ? 'it' : 'them'}, or allow one in ${configFile} under compose_policy_exceptions ({service, key: <rule>, value, reason}) (see docs/security.md, "Compose policy")`;
}

/** The InputError (exit 2, COMPOSE_POLICY) a run raises for these violations. */
export function composePolicyError(
  violations: readonly ComposePolicyViolation[],
  configFile?: string,
): InputError {
  return new InputError('COMPOSE_POLICY', formatComposePolicyViolations(violations, configFile));
}

/** A log line per allowed violation: `allowed by <config>: ...`. */
export function formatAllowedExceptions(
  allowed: ComposePolicyResult['allowed'],
  configFile = 'recipes/<recipe>/cc-ci.yml',
): string[] {
  return allowed.map(
    ({ violation: v, exception: e }) =>
      `allowed by ${configFile}: ${v.file}: service "${v.service}", key "${v.key}" (${v.rule} ${v.value}): ${e.reason}`,
  );
}
