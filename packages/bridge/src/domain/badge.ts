/**
 * Level badges: "cc-ci | level N" coloured by level, grey "no runs" when there are none, in
 * shields style (badge-maker) and in the shields endpoint JSON format.
 */
import { makeBadge } from 'badge-maker';

const LEVEL_COLOURS = ['red', 'orange', 'yellow', 'yellowgreen', 'green', 'brightgreen'] as const;

export interface BadgeContent {
  readonly label: string;
  readonly message: string;
  readonly color: string;
}

export function badgeContent(level: number | null): BadgeContent {
  if (level === null) return { label: 'cc-ci', message: 'no runs', color: 'lightgrey' };
  const l = Math.max(0, Math.min(5, Math.trunc(level)));
  return { label: 'cc-ci', message: `level ${l}`, color: LEVEL_COLOURS[l]! };
}

/** SVG (badge-maker includes an accessible <title>). */
export function badgeSvg(level: number | null): string {
  return makeBadge({ ...badgeContent(level), style: 'flat' });
}

/** https://shields.io/badges/endpoint-badge */
export function badgeEndpointJson(level: number | null): {
  schemaVersion: 1;
  label: string;
  message: string;
  color: string;
} {
  return { schemaVersion: 1, ...badgeContent(level) };
}
