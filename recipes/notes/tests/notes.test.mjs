// The notes recipe's own tests (custom tier): run by cc-ci against the deployed app.
import { describe, expect, it } from '@jest/globals';
import { appContext, execInService, fetchApp } from '@cc-ci/harness-core/testing';

describe('notes', () => {
  it('shows its title and the tested domain on the front page', async () => {
    const res = await fetchApp('/');
    expect(res.status).toBe(200);
    expect(res.body).toContain(`on ${appContext().domain}`);
  });

  it('stores a note and lists it back', async () => {
    const note = `ci-${Date.now()}`;
    expect((await fetchApp(`/cgi-bin/notes?add=${note}`)).body).toContain(`added ${note}`);
    expect((await fetchApp('/cgi-bin/notes')).body).toContain(note);
  });

  it('keeps notes in the notes volume', async () => {
    const { stdout } = await execInService('app', ['ls', '/data/notes']);
    expect(stdout.trim().length).toBeGreaterThan(0);
  });
});
