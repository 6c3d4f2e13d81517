// The ledger recipe's own tests (custom tier): run by cc-ci against the deployed app.
import { describe, expect, it } from '@jest/globals';
import { appContext, execInService, fetchApp } from '@cc-ci/harness-core/testing';

describe('ledger', () => {
  it('shows its title and the tested domain on the front page', async () => {
    const res = await fetchApp('/');
    expect(res.status).toBe(200);
    expect(res.body).toContain(`on ${appContext().domain}`);
  });

  it('stores an entry with its amount and lists it back', async () => {
    const note = `ci-${Date.now()}`;
    const added = await fetchApp(`/cgi-bin/ledger?add=${note}&amount=1250`);
    expect(added.body).toContain(`added ${note}`);
    const listed = (await fetchApp('/cgi-bin/ledger')).body.split('\n');
    expect(listed.some((line) => line.endsWith(` ${note} 1250`))).toBe(true);
  });

  it('runs the newest schema and reads its settings from the mail overlay', async () => {
    const about = (await fetchApp('/cgi-bin/ledger?about')).body;
    expect(about).toContain('schema 3');
    expect(about).toContain(`from ledger@${appContext().domain}`);
  });

  it('keeps entries in PostgreSQL with the 0.3.0 columns', async () => {
    const { stdout } = await execInService('db', [
      'psql',
      '-X',
      '-At',
      '-U',
      'ledger',
      '-d',
      'ledger',
      '-c',
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'entries' ORDER BY column_name",
    ]);
    expect(stdout.trim().split('\n')).toEqual(['amount', 'created_at', 'id', 'note']);
  });
});
