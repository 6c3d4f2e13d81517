/**
 * JUnit XML for one tier (Ant JUnit schema, spec/junit.xsd): one <testsuite> per file.
 * `failure` for assertion failures, `error` for infrastructure problems (unver), `skipped` for
 * intentional skips. A failure's or error's `type` is its error code (docs/errors.md): the row's
 * own, else its stage's. Pure.
 */
import type { Stage, TierName } from './results.js';

function xmlEscape(text: string): string {
  return (
    text
      // XML 1.0 forbids most control characters even when escaped.
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

export interface JunitInput {
  readonly tier: TierName;
  readonly recipe: string;
  readonly stage: Stage;
  /** ISO timestamp without zone (the schema's xs:dateTime pattern), e.g. 2026-11-22T09:00:00 */
  readonly timestamp: string;
  readonly hostname: string;
}

export function renderJunit({ tier, recipe, stage, timestamp, hostname }: JunitInput): string {
  const rows = stage.tests.length
    ? stage.tests
    : [
        {
          name: tier,
          status: stage.status,
          ms: stage.duration_ms,
          ...(stage.reason ? { message: stage.reason } : {}),
          ...(stage.code ? { code: stage.code } : {}),
        },
      ];
  const failures = rows.filter((r) => r.status === 'fail').length;
  const errors = rows.filter((r) => r.status === 'unver').length;
  const skipped = rows.filter((r) => r.status === 'skip').length;
  const cases = rows.map((row) => {
    const open = `    <testcase name="${xmlEscape(row.name)}" classname="cc-ci.${xmlEscape(recipe)}.${tier}" time="${seconds(row.ms)}"`;
    const message = xmlEscape(row.message ?? '');
    const code = row.code ?? stage.code;
    switch (row.status) {
      case 'fail':
        return `${open}>\n      <failure message="${message}" type="${code ?? 'failure'}">${message}</failure>\n    </testcase>`;
      case 'unver':
        return `${open}>\n      <error message="${message}" type="${code ?? 'unverified'}">${message}</error>\n    </testcase>`;
      case 'skip':
        return `${open}>\n      <skipped message="${message}"/>\n    </testcase>`;
      default:
        return `${open}/>`;
    }
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="cc-ci.${xmlEscape(recipe)}.${tier}" timestamp="${timestamp}" hostname="${xmlEscape(hostname)}" tests="${rows.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds(stage.duration_ms)}">`,
    '  <properties>',
    `    <property name="tier" value="${tier}"/>`,
    `    <property name="status" value="${stage.status}"/>`,
    ...(stage.reason ? [`    <property name="reason" value="${xmlEscape(stage.reason)}"/>`] : []),
    ...(stage.code ? [`    <property name="code" value="${stage.code}"/>`] : []),
    '  </properties>',
    ...cases,
    '  <system-out/>',
    '  <system-err/>',
    '</testsuite>',
    '',
  ].join('\n');
}

/**
 * Add properties to a suite renderJunit wrote (after it, e.g. the isolation label known only
 * once the re-run ended). Empty values are left out.
 */
export function withJunitProperties(xml: string, props: Record<string, string>): string {
  const lines = Object.entries(props)
    .filter(([, value]) => value !== '')
    .map(
      ([name, value]) => `    <property name="${xmlEscape(name)}" value="${xmlEscape(value)}"/>`,
    );
  return lines.length
    ? xml.replace('  </properties>', () => [...lines, '  </properties>'].join('\n'))
    : xml;
}
