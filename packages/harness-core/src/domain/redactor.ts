/**
 * Secret redaction. Every generated secret value (and its base64 form) is replaced by
 * `[REDACTED:<name>]` in anything the run writes or prints. Pure.
 */
export class Redactor {
  private readonly values = new Map<string, string>();

  /** Register a secret value. Values shorter than 6 characters are refused: too many false hits. */
  add(name: string, value: string): void {
    if (value.length < 6)
      throw new Error(`secret ${name} is shorter than 6 characters; cannot redact it safely`);
    this.values.set(value, name);
    this.values.set(Buffer.from(value, 'utf8').toString('base64'), name);
  }

  get size(): number {
    return this.values.size;
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a value containing another is replaced whole.
    for (const [value, name] of [...this.values].sort((a, b) => b[0].length - a[0].length)) {
      if (out.includes(value)) out = out.split(value).join(`[REDACTED:${name}]`);
    }
    return out;
  }

  /** Names of the secrets whose value appears in the text. */
  findLeaks(text: string): string[] {
    const found = new Set<string>();
    for (const [value, name] of this.values) if (text.includes(value)) found.add(name);
    return [...found];
  }
}

/** The user-info of a git URL (`https://user:token@host/…`): values to redact. Pure. */
export function urlCredentials(src: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/@]+)@/i.exec(src);
  if (!m) return [];
  const [user, pass] = m[1]!.split(/:(.*)/s);
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return [...new Set([m[1]!, ...[user, pass].filter((v): v is string => Boolean(v)).map(decode)])];
}

/** A git URL fit to print: its user-info replaced by `***`. Pure. */
export function displayUrl(src: string): string {
  return src.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]+@/i, '$1***@');
}
