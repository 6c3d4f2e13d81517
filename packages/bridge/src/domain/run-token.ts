/**
 * Per-run upload credentials (issue 18, docs/security.md#uploads). The bridge gives every Drone
 * build it starts a token derived for that build's trigger, as the build param `CCCI_RUN_TOKEN`;
 * for a run the bridge started, the results and progress routes accept that token and no other.
 *
 * The run id is the Drone build number, which Drone assigns only when the build is created, after
 * the params were sent; so the token is bound to the trigger (its id, idempotency key and pinned
 * head sha), and a run is the trigger's run through `triggers.build_number`. Shape:
 * `ccci-run.<trigger id>.<base64url HMAC-SHA256>`; the trigger id in clear lets the bridge find
 * the trigger without a search, and the MAC makes it unforgeable without the key. Pure: no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a run token is derived over: the trigger behind the build. */
export interface RunTokenSubject {
  readonly id: number;
  readonly idempotency_key: string;
  readonly head_sha: string | null;
}

const PREFIX = 'ccci-run.';
const SHAPE = /^ccci-run\.([1-9][0-9]{0,15})\.[A-Za-z0-9_-]{43}$/;
/** Domain separation: the key is never the secret itself, and never a results token. */
const KEY_LABEL = 'cc-ci run-token key v1';
const MAC_LABEL = 'cc-ci run-token v1';

export class RunTokens {
  private readonly key: Buffer;

  /**
   * @param secret `CCCI_RUN_TOKEN_SECRET`, or — when that is unset — `CCCI_RESULTS_TOKEN`; the
   * MAC key is HMAC(secret, label), so a run token never reveals or equals the shared token.
   */
  constructor(secret: string) {
    if (secret.length < 16) throw new Error('a run-token secret needs at least 16 characters');
    this.key = createHmac('sha256', secret).update(KEY_LABEL).digest();
  }

  /** The token for the build of trigger `t`. */
  forTrigger(t: RunTokenSubject): string {
    return `${PREFIX}${t.id}.${this.mac(t).toString('base64url')}`;
  }

  /** Whether `token` is the run token of trigger `t` (constant time in the MAC). */
  verify(token: string, t: RunTokenSubject): boolean {
    const m = SHAPE.exec(token);
    if (!m || Number(m[1]) !== t.id) return false;
    const given = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
    const expected = this.mac(t);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(t: RunTokenSubject): Buffer {
    return createHmac('sha256', this.key)
      .update(`${MAC_LABEL}\n${t.id}\n${t.idempotency_key}\n${t.head_sha ?? ''}`)
      .digest();
  }
}

/**
 * The trigger id a token names if it has a run token's shape, else null. Says nothing about
 * whether it is genuine: RunTokens.verify does.
 */
export function runTokenTriggerId(token: string): number | null {
  const m = SHAPE.exec(token);
  return m ? Number(m[1]) : null;
}

/** The run token's charset and length, for validating the build param (drone-params.ts). */
export const RUN_TOKEN_SHAPE = SHAPE;
