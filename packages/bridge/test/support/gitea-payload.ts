/**
 * A real-size Gitea 1.22 `issue_comment` webhook payload on a pull request (~19 KB, as measured
 * in issue 18): full user objects for the issue author, commenter, owner and sender, the full
 * repository object with permissions and settings, and a pull-request description of realistic
 * length. Field names follow the payload Gitea's `services/webhook` sends (api.IssueCommentPayload).
 */
export interface PayloadOptions {
  readonly repo?: string;
  readonly pr?: number;
  readonly commentId: number;
  readonly body?: string;
  readonly login?: string;
  readonly base?: string;
}

function user(base: string, login: string, id: number): Record<string, unknown> {
  return {
    id,
    login,
    login_name: '',
    source_id: 0,
    full_name: `${login[0]!.toUpperCase()}${login.slice(1)} Example`,
    email: `${login}@noreply.git.coopcloud.example`,
    avatar_url: `${base}/avatars/5c0a6b1e7f3d2a9b8c4e1f0d3a2b1c0e?size=512`,
    html_url: `${base}/${login}`,
    language: 'en-US',
    is_admin: false,
    last_login: '2026-11-21T08:14:03Z',
    created: '2023-02-11T17:40:22Z',
    restricted: false,
    active: true,
    prohibit_login: false,
    location: 'Somewhere, Earth',
    website: `https://${login}.example.org`,
    description: 'Co-op Cloud recipe maintainer. Likes small, boring, reliable deployments.',
    visibility: 'public',
    followers_count: 12,
    following_count: 7,
    starred_repos_count: 31,
    username: login,
  };
}

function repository(base: string, full: string, id: number): Record<string, unknown> {
  const [owner, name] = full.split('/') as [string, string];
  return {
    id,
    owner: { ...user(base, owner, 3), visibility: 'public', description: 'Co-op Cloud recipes' },
    name,
    full_name: full,
    description: `A Co-op Cloud recipe for ${name}: compose files, abra.sh hooks, release notes and the recipe's CI configuration.`,
    empty: false,
    private: false,
    fork: false,
    template: false,
    parent: null,
    mirror: false,
    size: 1843,
    language: 'Shell',
    languages_url: `${base}/api/v1/repos/${full}/languages`,
    html_url: `${base}/${full}`,
    url: `${base}/api/v1/repos/${full}`,
    link: '',
    ssh_url: `ssh://git@git.coopcloud.example:2222/${full}.git`,
    clone_url: `${base}/${full}.git`,
    original_url: '',
    website: `https://docs.coopcloud.example/recipes/${name}`,
    stars_count: 9,
    forks_count: 14,
    watchers_count: 6,
    open_issues_count: 11,
    open_pr_counter: 3,
    release_counter: 42,
    default_branch: 'main',
    archived: false,
    created_at: '2021-06-04T10:02:51Z',
    updated_at: '2026-11-21T16:20:00Z',
    archived_at: '1970-01-01T00:00:00Z',
    permissions: { admin: false, push: false, pull: true },
    has_issues: true,
    internal_tracker: {
      enable_time_tracker: false,
      allow_only_contributors_to_track_time: true,
      enable_issue_dependencies: true,
    },
    has_wiki: false,
    wiki_branch: 'master',
    has_pull_requests: true,
    has_projects: false,
    projects_mode: 'all',
    has_releases: true,
    has_packages: false,
    has_actions: false,
    ignore_whitespace_conflicts: false,
    allow_merge_commits: true,
    allow_rebase: true,
    allow_rebase_explicit: true,
    allow_squash_merge: true,
    allow_fast_forward_only_merge: false,
    allow_rebase_update: true,
    default_delete_branch_after_merge: true,
    default_merge_style: 'squash',
    default_allow_maintainer_edit: true,
    avatar_url: `${base}/repo-avatars/${id}-7d1c0f6a2b3e4d5c6b7a8f9e0d1c2b3a`,
    internal: false,
    mirror_interval: '',
    object_format_name: 'sha1',
    mirror_updated: '0001-01-01T00:00:00Z',
    repo_transfer: null,
    topics: ['coop-cloud', 'recipe', name],
    licenses: ['GPL-3.0'],
  };
}

/** A PR description as maintainers write them: summary, checklist, changelog excerpt. */
function prDescription(name: string): string {
  const para =
    `This bumps ${name} to the next upstream release and adjusts the compose file to the new ` +
    'environment variables. The upgrade path was tested locally from the previous recipe version ' +
    'with a restored backup; the healthcheck now waits for the database migration to finish. ';
  const list = Array.from(
    { length: 32 },
    (_, i) =>
      `- [x] step ${i + 1}: checked that \`${name}_${i}\` keeps its value across \`abra app upgrade\`, ` +
      'with secrets rotated and the volume mounted read-write as before',
  ).join('\n');
  const changelog = Array.from(
    { length: 36 },
    (_, i) =>
      `* upstream change ${i + 1}: fix a race in the background worker when the queue is empty; ` +
      'document the new SMTP settings; drop support for an end-of-life database version',
  ).join('\n');
  return `## Summary\n\n${para.repeat(4)}\n\n## Checklist\n\n${list}\n\n## Upstream changelog\n\n${changelog}\n`;
}

/** The JSON text Gitea would sign and send for one new comment on a pull request. */
export function giteaCommentPayload(o: PayloadOptions): string {
  const base = o.base ?? 'https://git.coopcloud.example';
  const full = o.repo ?? 'recipes/notes';
  const pr = o.pr ?? 7;
  const login = o.login ?? 'maintainer';
  const name = full.split('/')[1]!;
  const payload = {
    action: 'created',
    issue: {
      id: 90_000 + pr,
      url: `${base}/api/v1/repos/${full}/issues/${pr}`,
      html_url: `${base}/${full}/pulls/${pr}`,
      number: pr,
      user: user(base, 'contributor', 41),
      original_author: '',
      original_author_id: 0,
      title: `Upgrade ${name} to the next upstream release`,
      body: prDescription(name),
      ref: '',
      assets: [],
      labels: [],
      milestone: null,
      assignee: null,
      assignees: null,
      state: 'open',
      is_locked: false,
      comments: 4,
      created_at: '2026-11-20T09:00:00Z',
      updated_at: '2026-11-22T10:00:00Z',
      closed_at: null,
      due_date: null,
      pull_request: {
        merged: false,
        merged_at: null,
        draft: false,
        html_url: `${base}/${full}/pulls/${pr}`,
      },
      repository: { id: 17, name, owner: full.split('/')[0], full_name: full },
      pin_order: 0,
    },
    comment: {
      id: o.commentId,
      html_url: `${base}/${full}/pulls/${pr}#issuecomment-${o.commentId}`,
      pull_request_url: `${base}/${full}/pulls/${pr}`,
      issue_url: '',
      user: user(base, login, 42),
      original_author: '',
      original_author_id: 0,
      body:
        o.body ?? 'Thanks! The compose change looks right to me; one question about the volume.',
      assets: [],
      created_at: '2026-11-22T10:00:00Z',
      updated_at: '2026-11-22T10:00:00Z',
    },
    repository: repository(base, full, 17),
    sender: user(base, login, 42),
    is_pull: true,
  };
  return JSON.stringify(payload, null, 2);
}
