#!/usr/bin/env bash
# Turn a recipe directory into a git repository with release history, as a recipe maintainer's
# repository would have it: one commit + tag per release VERSION (the compose version label and
# APP_VERSION rewritten to that release), then the directory as it is as the newest commit
# (the "PR head"), on branch main. Files under SRC_DIR/history/<VERSION>/ replace the source's
# files in that release's commit (how a release differed: older migrations, an older script);
# the history/ directory itself is never part of the repository.
#
# Usage: scripts/make-recipe-repo.sh SRC_DIR DEST_DIR VERSION...
#   e.g. scripts/make-recipe-repo.sh examples/recipes/notes /tmp/notes 0.1.0+1.35.0 0.2.0+1.35.0
# DEST_DIR must not exist. Prints the head commit sha.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 SRC_DIR DEST_DIR VERSION..." >&2; exit 2; }
src=$1 dest=$2; shift 2
[ -d "$src" ] || { echo "make-recipe-repo: $src is not a directory" >&2; exit 2; }
[ ! -e "$dest" ] || { echo "make-recipe-repo: $dest already exists" >&2; exit 2; }
mkdir -p "$dest"
g() { git -C "$dest" -c user.name=cc-ci -c user.email=cc-ci@localhost -c commit.gpgsign=false -c tag.gpgsign=false "$@"; }
# Stage the tree by content. `git add -A` trusts the index's stat data, and in a fresh checkout a
# release's file and the head's can share size and mtime second (cp -a keeps mtimes, inodes are
# reused): git would then keep the previous commit's content. Emptying the index first makes git
# hash every file.
stage() { g rm -r -q --cached --ignore-unmatch . >/dev/null; g add -A; }
g init -q -b main
stamp=1700000000
for version in "$@"; do
  find "$dest" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
  cp -a "$src/." "$dest/"
  rm -rf "$dest/history"
  [ ! -d "$src/history/$version" ] || cp -a "$src/history/$version/." "$dest/"
  upstream_free=${version%%+*}
  # Rewrite the version label and APP_VERSION to this release.
  sed -i -E "s/(coop-cloud\.\\\$\{STACK_NAME\}\.version=)[^\"]*/\1${version}/; s/(APP_VERSION=)[0-9A-Za-z.+-]*/\1${upstream_free}/" "$dest/compose.yml"
  # Release notes newer than this version do not exist yet.
  for note in "$dest"/release/*; do
    [ -e "$note" ] || continue
    n=$(basename "$note")
    [ "$(printf '%s\n%s\n' "$n" "$version" | sort -V | tail -n1)" = "$version" ] || rm -f "$note"
  done
  stage
  GIT_AUTHOR_DATE="@$stamp" GIT_COMMITTER_DATE="@$stamp" g commit -q -m "chore: release $version"
  g tag -a "$version" -m "$version"
  stamp=$((stamp + 86400))
done
find "$dest" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
cp -a "$src/." "$dest/"
rm -rf "$dest/history"
stage
if ! g diff --cached --quiet; then
  GIT_AUTHOR_DATE="@$stamp" GIT_COMMITTER_DATE="@$stamp" g commit -q -m "feat: work in progress (PR head)"
fi
g rev-parse HEAD
