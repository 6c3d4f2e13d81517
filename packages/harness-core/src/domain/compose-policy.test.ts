import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { InputError } from '../errors.js';
import {
  checkComposePolicy,
  checkComposePolicyOnDisk,
  composePolicyError,
  confinePath,
  formatAllowedExceptions,
  formatComposePolicyViolations,
  type ComposePolicyInput,
  type ComposePolicyRule,
} from './compose-policy.js';

const CHECKOUT = '/work/recipe';
const one = (doc: unknown, extra: Partial<ComposePolicyInput> = {}): ComposePolicyInput => ({
  docs: [{ file: `${CHECKOUT}/compose.yml`, doc }],
  checkoutDir: CHECKOUT,
  ...extra,
});
const svc = (app: Record<string, unknown>): unknown => ({
  services: { app: { image: 'nginx', ...app } },
});
const violations = (input: ComposePolicyInput) => checkComposePolicy(input).violations;

describe('checkComposePolicy', () => {
  it('accepts a plain recipe with named volumes, configs and secrets in the checkout', () => {
    const doc = {
      services: {
        app: {
          image: 'nginx',
          volumes: ['data:/data', '/anonymous', { type: 'volume', source: 'more', target: '/m' }],
          env_file: ['.env.app'],
          security_opt: ['no-new-privileges:true', 'apparmor=docker-default'],
          privileged: false,
          sysctls: { 'net.core.somaxconn': 1024 },
          ipc: 'private',
          network_mode: 'bridge',
          networks: ['proxy', 'internal'],
          configs: [{ source: 'nginx_conf', target: '/etc/nginx.conf' }],
        },
      },
      volumes: { data: {}, more: { driver: 'local' }, tmp: { driver_opts: { type: 'tmpfs' } } },
      networks: { proxy: { external: true }, internal: { driver: 'overlay' } },
      configs: { nginx_conf: { file: './nginx.conf.tmpl', name: '${STACK_NAME}_conf' } },
      secrets: { db: { external: true, name: '${STACK_NAME}_db_${SECRET_DB_VERSION}' } },
    };
    expect(checkComposePolicy(one(doc, { composeFiles: ['compose.yml'] }))).toEqual({
      violations: [],
      allowed: [],
    });
  });

  it.each<[string, unknown, ComposePolicyRule, string, string, RegExp]>([
    [
      'docker socket',
      svc({ volumes: ['/var/run/docker.sock:/var/run/docker.sock'] }),
      'bind_mount',
      'app',
      'volumes',
      /Docker socket \/var\/run\/docker\.sock/,
    ],
    [
      '/run/docker.sock long syntax',
      svc({ volumes: [{ type: 'bind', source: '/run/docker.sock', target: '/s' }] }),
      'bind_mount',
      'app',
      'volumes',
      /Docker socket/,
    ],
    ['host root', svc({ volumes: ['/:/host:ro'] }), 'bind_mount', 'app', 'volumes', /host path \//],
    [
      'relative bind',
      svc({ volumes: ['./data:/data'] }),
      'bind_mount',
      'app',
      'volumes',
      /host path \.\/data/,
    ],
    ['home bind', svc({ volumes: ['~/x:/y'] }), 'bind_mount', 'app', 'volumes', /host path ~\/x/],
    [
      'long bind',
      svc({ volumes: [{ type: 'bind', source: '/etc', target: '/e' }] }),
      'bind_mount',
      'app',
      'volumes',
      /host path \/etc/,
    ],
    [
      'interpolated source',
      svc({ volumes: ['${DATA_DIR}:/data'] }),
      'bind_mount',
      'app',
      'volumes',
      /interpolated/,
    ],
    [
      'interpolated anonymous',
      svc({ volumes: ['${SPEC}'] }),
      'bind_mount',
      'app',
      'volumes',
      /interpolated/,
    ],
    [
      'volumes_from a container',
      svc({ volumes_from: ['container:other'] }),
      'bind_mount',
      'app',
      'volumes_from',
      /container:other/,
    ],
    [
      'local-driver bind',
      { volumes: { data: { driver_opts: { type: 'none', o: 'bind', device: '/srv' } } } },
      'bind_mount',
      'volumes.data',
      'driver_opts',
      /host path \/srv/,
    ],
    [
      'privileged',
      svc({ privileged: true }),
      'privileged',
      'app',
      'privileged',
      /privileged container/,
    ],
    [
      'privileged interpolated',
      svc({ privileged: '${PRIV}' }),
      'privileged',
      'app',
      'privileged',
      /privileged/,
    ],
    ['privileged: 1', svc({ privileged: 1 }), 'privileged', 'app', 'privileged', /privileged/],
    ['cap_add', svc({ cap_add: ['SYS_ADMIN'] }), 'cap_add', 'app', 'cap_add', /SYS_ADMIN/],
    ['devices', svc({ devices: ['/dev/sda:/dev/sda'] }), 'devices', 'app', 'devices', /\/dev\/sda/],
    [
      'device_cgroup_rules',
      svc({ device_cgroup_rules: ['c 1:3 mr'] }),
      'devices',
      'app',
      'device_cgroup_rules',
      /host devices/,
    ],
    [
      'network_mode host',
      svc({ network_mode: 'host' }),
      'network_mode',
      'app',
      'network_mode',
      /network_mode: host/,
    ],
    [
      'network_mode container',
      svc({ network_mode: 'container:db' }),
      'network_mode',
      'app',
      'network_mode',
      /container:db/,
    ],
    [
      'network_mode service',
      svc({ network_mode: 'service:db' }),
      'network_mode',
      'app',
      'network_mode',
      /service:db/,
    ],
    ['pid host', svc({ pid: 'host' }), 'pid', 'app', 'pid', /pid: host/],
    ['ipc host', svc({ ipc: 'host' }), 'ipc', 'app', 'ipc', /ipc: host/],
    ['uts host', svc({ uts: 'host' }), 'uts', 'app', 'uts', /uts: host/],
    [
      'userns_mode host',
      svc({ userns_mode: 'host' }),
      'userns_mode',
      'app',
      'userns_mode',
      /userns_mode: host/,
    ],
    ['cgroup host', svc({ cgroup: 'host' }), 'cgroup', 'app', 'cgroup', /cgroup: host/],
    [
      'cgroup_parent',
      svc({ cgroup_parent: '/' }),
      'cgroup_parent',
      'app',
      'cgroup_parent',
      /host cgroup/,
    ],
    [
      'seccomp=unconfined',
      svc({ security_opt: ['seccomp=unconfined'] }),
      'security_opt',
      'app',
      'security_opt',
      /seccomp=unconfined/,
    ],
    [
      'seccomp:unconfined',
      svc({ security_opt: ['seccomp:unconfined'] }),
      'security_opt',
      'app',
      'security_opt',
      /confinement/,
    ],
    [
      'seccomp profile',
      svc({ security_opt: ['seccomp=/tmp/allow-all.json'] }),
      'security_opt',
      'app',
      'security_opt',
      /confinement/,
    ],
    [
      'apparmor=unconfined',
      svc({ security_opt: ['apparmor=unconfined'] }),
      'security_opt',
      'app',
      'security_opt',
      /apparmor/,
    ],
    [
      'apparmor:unconfined',
      svc({ security_opt: ['apparmor:unconfined'] }),
      'security_opt',
      'app',
      'security_opt',
      /apparmor/,
    ],
    [
      'label=disable',
      svc({ security_opt: ['label=disable'] }),
      'security_opt',
      'app',
      'security_opt',
      /label/,
    ],
    [
      'label:disable',
      svc({ security_opt: ['label:disable'] }),
      'security_opt',
      'app',
      'security_opt',
      /label/,
    ],
    [
      'systempaths=unconfined',
      svc({ security_opt: ['systempaths=unconfined'] }),
      'security_opt',
      'app',
      'security_opt',
      /systempaths/,
    ],
    [
      'no-new-privileges=false',
      svc({ security_opt: ['no-new-privileges=false'] }),
      'security_opt',
      'app',
      'security_opt',
      /no-new-privileges/,
    ],
    [
      'host network driver',
      { networks: { n: { driver: 'host' } } },
      'host_network',
      'networks.n',
      'driver',
      /host's network/,
    ],
    [
      'external host network',
      { networks: { hostnet: { external: true, name: 'host' } } },
      'host_network',
      'networks.hostnet',
      'external',
      /host's network/,
    ],
    [
      'external host by key',
      { networks: { host: { external: true } } },
      'host_network',
      'networks.host',
      'external',
      /host's network/,
    ],
    [
      'extends another file',
      svc({ extends: { file: 'other.yml', service: 'x' } }),
      'extends',
      'app',
      'extends',
      /another file/,
    ],
    [
      'include',
      { include: ['other.yml'] },
      'include',
      '(top level)',
      'include',
      /includes other compose files/,
    ],
    [
      'privileged through a YAML merge key',
      { services: { app: { '<<': { privileged: true }, image: 'x' } } },
      'privileged',
      'app',
      'privileged',
      /privileged/,
    ],
  ])('refuses %s, naming file, service and key', (_name, doc, rule, service, key, reason) => {
    const found = violations(one(doc));
    expect(found).toEqual([expect.objectContaining({ file: 'compose.yml', service, key, rule })]);
    expect(found[0]!.reason).toMatch(reason);
    const message = formatComposePolicyViolations(found);
    expect(message).toContain(`compose.yml: service "${service}", key "${key}"`);
  });

  it.each([
    ['env_file absolute', svc({ env_file: '/etc/shadow' }), 'app', 'env_file[0]', /absolute path/],
    [
      'env_file long syntax escape',
      svc({ env_file: [{ path: '../x.env' }] }),
      'app',
      'env_file[0]',
      /outside the checkout/,
    ],
    ['env_file interpolated', svc({ env_file: ['${ENVF}'] }), 'app', 'env_file[0]', /interpolated/],
    [
      'config file escape',
      { configs: { c: { file: '../../etc/passwd' } } },
      'configs.c',
      'file',
      /outside/,
    ],
    [
      'secret file in home',
      { secrets: { s: { file: '~/.ssh/id_rsa' } } },
      'secrets.s',
      'file',
      /home directory/,
    ],
  ])('refuses %s outside the checkout', (_name, doc, service, key, reason) => {
    const found = violations(one(doc));
    expect(found).toEqual([
      expect.objectContaining({ file: 'compose.yml', service, key, rule: 'outside_checkout' }),
    ]);
    expect(found[0]!.reason).toMatch(reason);
  });

  it('refuses COMPOSE_FILE entries outside the checkout and accepts those inside', () => {
    const found = violations(
      one(svc({}), {
        composeFiles: ['compose.yml', 'sub/../compose.smtp.yml', '/etc/x.yml', '../y.yml'],
      }),
    );
    expect(found.map((v) => [v.file, v.key, v.value])).toEqual([
      ['COMPOSE_FILE', 'COMPOSE_FILE[2]', '/etc/x.yml'],
      ['COMPOSE_FILE', 'COMPOSE_FILE[3]', '../y.yml'],
    ]);
  });

  it('reports each violation of a service once, in order, for several files', () => {
    const input: ComposePolicyInput = {
      checkoutDir: CHECKOUT,
      docs: [
        { file: `${CHECKOUT}/compose.yml`, doc: svc({ cap_add: ['NET_ADMIN', 'SYS_PTRACE'] }) },
        { file: `${CHECKOUT}/compose.x.yml`, doc: { services: { db: { pid: 'host' } } } },
      ],
    };
    expect(violations(input).map((v) => `${v.file}/${v.service}/${v.key}/${v.value}`)).toEqual([
      'compose.yml/app/cap_add/NET_ADMIN',
      'compose.yml/app/cap_add/SYS_PTRACE',
      'compose.x.yml/db/pid/host',
    ]);
  });

  it('skips what an exception allows and reports which exception did', () => {
    const doc = svc({
      volumes: ['/var/run/docker.sock:/var/run/docker.sock:ro', '/etc:/etc'],
      cap_add: ['NET_ADMIN'],
    });
    const exceptions = [
      {
        service: 'app',
        key: 'bind_mount' as const,
        value: '/var/run/docker.sock',
        reason: 'traefik-like',
      },
      { service: 'app', key: 'cap_add' as const, reason: 'vpn needs it' },
      { service: 'other', key: 'privileged' as const, reason: 'unused is fine' },
    ];
    const result = checkComposePolicy(one(doc, { exceptions }));
    expect(result.violations.map((v) => v.value)).toEqual(['/etc']);
    expect(result.allowed.map((a) => [a.violation.value, a.exception.reason])).toEqual([
      ['/var/run/docker.sock', 'traefik-like'],
      ['NET_ADMIN', 'vpn needs it'],
    ]);
    expect(formatAllowedExceptions(result.allowed, 'recipes/x/cc-ci.yml')[0]).toBe(
      'allowed by recipes/x/cc-ci.yml: compose.yml: service "app", key "volumes" (bind_mount /var/run/docker.sock): traefik-like',
    );
  });

  it('an exception for another service or value does not apply', () => {
    const doc = svc({ volumes: ['/etc:/etc'] });
    const exceptions = [
      { service: 'db', key: 'bind_mount' as const, reason: 'other service' },
      { service: 'app', key: 'bind_mount' as const, value: '/var/run/docker.sock', reason: 'x y' },
    ];
    expect(violations(one(doc, { exceptions }))).toHaveLength(1);
  });

  it('builds one InputError COMPOSE_POLICY naming every violation and the config file', () => {
    const err = composePolicyError(
      violations(one(svc({ privileged: true, pid: 'host' }))),
      'recipes/x/cc-ci.yml',
    );
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('COMPOSE_POLICY');
    expect(err.message).toMatch(/2 settings/);
    expect(err.message).toMatch(/service "app", key "privileged"/);
    expect(err.message).toMatch(/service "app", key "pid"/);
    expect(err.message).toMatch(/recipes\/x\/cc-ci\.yml under compose_policy_exceptions/);
  });

  it('never throws on malformed documents', () => {
    for (const doc of [
      null,
      42,
      'x',
      [],
      { services: 'x' },
      { services: { app: null } },
      { services: { app: { volumes: 'a:b', cap_add: 'X', security_opt: 7 } } },
    ]) {
      expect(() => checkComposePolicy(one(doc))).not.toThrow();
    }
  });
});

describe('confinePath and checkComposePolicyOnDisk', () => {
  let root: string;
  let checkout: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ccci-policy-'));
    checkout = join(root, 'recipe');
    await mkdir(join(checkout, 'sub'), { recursive: true });
    await writeFile(join(root, 'secret.env'), 'X=1\n');
    await writeFile(join(checkout, 'ok.env'), 'X=1\n');
    await symlink(join(root, 'secret.env'), join(checkout, 'evil.env'));
    await symlink(root, join(checkout, 'up'));
    await symlink(join(checkout, 'ok.env'), join(checkout, 'sub', 'fine.env'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('follows symlinks: inside, escaping files and escaping directories', async () => {
    expect(await confinePath(checkout, 'ok.env')).toBe(true);
    expect(await confinePath(checkout, 'sub/fine.env')).toBe(true);
    expect(await confinePath(checkout, 'missing/dir/x.env')).toBe(true);
    expect(await confinePath(checkout, 'evil.env')).toBe(false);
    expect(await confinePath(checkout, 'up/secret.env')).toBe(false);
    expect(await confinePath(checkout, 'up/not-there.env')).toBe(false);
  });

  it('refuses an env_file, config and COMPOSE_FILE entry that a symlink takes outside', async () => {
    const result = await checkComposePolicyOnDisk({
      checkoutDir: checkout,
      composeFiles: ['compose.yml', 'up/compose.evil.yml'],
      docs: [
        {
          file: join(checkout, 'compose.yml'),
          doc: {
            services: { app: { image: 'x', env_file: ['ok.env', 'evil.env'] } },
            configs: { c: { file: 'up/secret.env' }, d: { file: 'sub/fine.env' } },
          },
        },
      ],
    });
    expect(result.violations.map((v) => [v.file, v.service, v.key, v.rule])).toEqual([
      ['COMPOSE_FILE', 'COMPOSE_FILE', 'COMPOSE_FILE[1]', 'outside_checkout'],
      ['compose.yml', 'app', 'env_file[1]', 'outside_checkout'],
      ['compose.yml', 'configs.c', 'file', 'outside_checkout'],
    ]);
    expect(result.violations[1]!.reason).toMatch(/through a symlink/);
  });
});

describe('checkComposePolicy (fuzz)', () => {
  const RUNS = { numRuns: 500, interruptAfterTimeLimit: 1_500, markInterruptAsFailure: false };
  const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
  const yamlish = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.string({ maxLength: 20 }),
      fc.constantFrom('host', '/', '${X}', 'container:x', 'a:b', '<<', 'bind'),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(
        fc.oneof(
          fc.string({ maxLength: 10 }),
          fc.constantFrom(
            'services',
            'volumes',
            'networks',
            'configs',
            'secrets',
            'privileged',
            'volumes',
            'driver_opts',
            '<<',
            'file',
            'env_file',
            'extends',
            'external',
            '__proto__',
          ),
        ),
        tie('value'),
        { maxKeys: 5 },
      ),
    ),
  })).value;

  it('never throws on arbitrary YAML-like documents', () => {
    fc.assert(
      fc.property(
        yamlish,
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
        (doc, files) => {
          const result = checkComposePolicy(one(doc, { composeFiles: files }));
          expect(Array.isArray(result.violations)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  const forbidden = fc.constantFrom<[string, unknown, ComposePolicyRule]>(
    ['privileged', true, 'privileged'],
    ['cap_add', ['ALL'], 'cap_add'],
    ['devices', ['/dev/kmsg'], 'devices'],
    ['network_mode', 'host', 'network_mode'],
    ['pid', 'host', 'pid'],
    ['ipc', 'host', 'ipc'],
    ['userns_mode', 'host', 'userns_mode'],
    ['cgroup_parent', 'x', 'cgroup_parent'],
    ['security_opt', ['seccomp=unconfined'], 'security_opt'],
    ['volumes', ['/:/host'], 'bind_mount'],
    ['volumes', [{ type: 'bind', source: '/var/run/docker.sock', target: '/s' }], 'bind_mount'],
    ['env_file', ['/etc/passwd'], 'outside_checkout'],
  );
  const safeService = fc.record(
    {
      image: fc.constantFrom('nginx', 'postgres:15'),
      environment: fc.dictionary(name, fc.string({ maxLength: 10 }), { maxKeys: 3 }),
      volumes: fc.array(
        name.map((n) => `${n}:/data/${n}`),
        { maxLength: 3 },
      ),
      networks: fc.array(name, { maxLength: 2 }),
    },
    { requiredKeys: ['image'] },
  );
  const doc = fc.record({ services: fc.dictionary(name, safeService, { minKeys: 1, maxKeys: 3 }) });

  it('refuses any document with a generated forbidden key, naming its service and rule', () => {
    fc.assert(
      fc.property(doc, forbidden, name, (d, [key, value, rule], victim) => {
        expect(violations(one(d))).toEqual([]);
        const services = {
          ...d.services,
          [victim]: { ...d.services[victim], image: 'x', [key]: value },
        };
        const found = violations(one({ ...d, services }));
        expect(found).toContainEqual(expect.objectContaining({ service: victim, rule }));
      }),
      RUNS,
    );
  });

  it('adding a named volume never creates a violation', () => {
    fc.assert(
      fc.property(
        doc,
        forbidden,
        fc.boolean(),
        name,
        fc.boolean(),
        (d, [key, value], withForbidden, vol, long) => {
          const [first] = Object.keys(d.services);
          const base = withForbidden
            ? {
                ...d,
                services: { ...d.services, [first!]: { ...d.services[first!], [key]: value } },
              }
            : d;
          const before = violations(one(base));
          const target = base.services[first!] as Record<string, unknown>;
          const volumes = Array.isArray(target.volumes) ? target.volumes : [];
          const entry = long ? { type: 'volume', source: vol, target: '/named' } : `${vol}:/named`;
          const after = violations(
            one({
              ...base,
              services: { ...base.services, [first!]: { ...target, volumes: [...volumes, entry] } },
              volumes: { [vol]: {} },
            }),
          );
          expect(after).toEqual(before);
        },
      ),
      RUNS,
    );
  });
});
