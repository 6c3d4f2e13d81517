/**
 * Parsing of a recipe's `.env.sample` and the static `export` lines of `abra.sh`. Pure; nothing
 * is ever executed: `abra.sh` is read as text and only `export KEY=VALUE` lines count.
 */

export interface EnvEntry {
  readonly key: string;
  readonly value: string;
  /** The `# length=N` hint after a SECRET_*_VERSION line. */
  readonly length?: number;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parse one value: quotes removed, an unquoted trailing `# comment` removed. */
function parseValue(raw: string): { value: string; comment: string } {
  const s = raw.trim();
  const quote = s[0];
  if ((quote === '"' || quote === "'") && s.indexOf(quote, 1) > 0) {
    const end = s.indexOf(quote, 1);
    return { value: s.slice(1, end), comment: s.slice(end + 1).replace(/^\s*#?/, '') };
  }
  const hash = s.search(/\s#/);
  if (hash >= 0)
    return { value: s.slice(0, hash).trim(), comment: s.slice(hash).replace(/^\s*#/, '') };
  return { value: s, comment: '' };
}

export function parseEnvFile(text: string): EnvEntry[] {
  const entries: EnvEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const body = trimmed.replace(/^export\s+/, '');
    const eq = body.indexOf('=');
    if (eq <= 0) continue;
    const key = body.slice(0, eq).trim();
    if (!KEY.test(key)) continue;
    const { value, comment } = parseValue(body.slice(eq + 1));
    const length = /length=(\d+)/.exec(comment)?.[1];
    entries.push(length ? { key, value, length: Number(length) } : { key, value });
  }
  return entries;
}

/** `export KEY=VALUE` lines of abra.sh; other lines (functions, commands) are ignored. */
export function parseAbraShExports(text: string): EnvEntry[] {
  return parseEnvFile(
    text
      .split(/\r?\n/)
      .filter((l) => /^\s*export\s+[A-Za-z_][A-Za-z0-9_]*=/.test(l))
      .join('\n'),
  );
}

/** Secrets declared in .env.sample: SECRET_<NAME>_VERSION=v1 # length=N */
export interface SecretSpec {
  readonly name: string;
  readonly version: string;
  readonly length: number;
}

export function secretSpecs(entries: readonly EnvEntry[]): SecretSpec[] {
  return entries.flatMap((e) => {
    const m = /^SECRET_([A-Z0-9_]+)_VERSION$/.exec(e.key);
    if (!m?.[1]) return [];
    return [{ name: m[1].toLowerCase(), version: e.value || 'v1', length: e.length ?? 32 }];
  });
}

/** Expand `$VAR`/`${VAR}` references the way a shell would, from the given env. */
export function expandVars(value: string, env: Readonly<Record<string, string>>): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, a, b) => env[a ?? b] ?? '',
  );
}

/** COMPOSE_FILE is a colon-separated list; default compose.yml. */
export function composeFiles(env: Readonly<Record<string, string>>): string[] {
  const raw = expandVars(env.COMPOSE_FILE ?? '', env);
  const files = raw
    .split(':')
    .map((f) => f.trim())
    .filter(Boolean);
  return files.length ? files : ['compose.yml'];
}
