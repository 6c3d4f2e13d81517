import { describe, expect, it } from '@jest/globals';
import { giteaCommentPayload } from '../../../test/support/gitea-payload.js';
import { deliveryToEvent, readCommentDelivery, slimDelivery } from './translate.js';

const base = {
  action: 'created',
  is_pull: true,
  issue: { number: 7 },
  comment: {
    id: 42,
    body: '!testme',
    updated_at: '2026-05-01T10:00:00Z',
    user: { login: 'alice' },
  },
  repository: { full_name: 'recipes/notes' },
};
const event = {
  repo: 'recipes/notes',
  pr: 7,
  commentId: 42,
  updatedAt: '2026-05-01T10:00:00Z',
  body: '!testme',
  login: 'alice',
};
const withComment = (c: Record<string, unknown>) => ({
  ...base,
  comment: { ...base.comment, ...c },
});

describe('the pull_request_comment delivery schema', () => {
  it('reads a real-size Gitea payload into a comment event', () => {
    const p = JSON.parse(giteaCommentPayload({ commentId: 9, pr: 3, body: '!testme quick' }));
    expect(readCommentDelivery(p)).toMatchObject({
      kind: 'comment',
      event: { pr: 3, commentId: 9, body: '!testme quick' },
    });
  });

  it.each([
    [{ ...base, action: 'edited' }, 'ignored:action'],
    [{ ...base, action: 'edited', is_pull: false, comment: null }, 'ignored:action'],
    [{ ...base, is_pull: false }, 'ignored:issue'],
    [{ ...base, is_pull: 'true' }, 'ignored:issue'],
    [withComment({ body: 'nice work' }), 'ignored:body'],
    [{ ...base, comment: 'x' }, 'ignored:body'],
    [{ ...withComment({ body: 'hi' }), repository: { full_name: '../x' } }, 'ignored:body'],
  ])('drops what cannot be a trigger before any refusal (%#)', (p, outcome) => {
    expect(readCommentDelivery(p)).toEqual({ kind: 'drop', outcome });
  });

  it.each([
    [withComment({ body: `!testme ${'x'.repeat(70_000)}`, id: 'x' }), /^comment\.body is longer/],
    [{ ...withComment({ id: 0 }), repository: { full_name: 'a/b/c' } }, /^repository\.full_name/],
    [{ ...withComment({ user: { login: '..' } }), issue: {} }, /^comment\.user\.login/],
    [{ ...withComment({ id: 1.5 }), issue: { number: 2 ** 31 + 1 } }, /^issue\.number/],
    [withComment({ id: 2 ** 53 }), /^comment\.id/],
  ])('refuses the first field out of bounds (%#)', (p, reason) => {
    const read = readCommentDelivery(p);
    expect(read.kind).toBe('invalid');
    expect(read.kind === 'invalid' && read.reason).toMatch(reason);
  });

  it('keeps an over-long or missing updated_at as empty', () => {
    expect(readCommentDelivery(withComment({ updated_at: 'x'.repeat(65) }))).toEqual({
      kind: 'comment',
      event: { ...event, updatedAt: '' },
    });
  });

  it('stores a candidate slim and reads it back as the same event', () => {
    expect(deliveryToEvent('pull_request_comment', slimDelivery(event))).toEqual(event);
    expect(deliveryToEvent('push', slimDelivery(event))).toBe('ignored:event');
    expect(deliveryToEvent('pull_request_comment', '{not json')).toBe('invalid');
  });
});
