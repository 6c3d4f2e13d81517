#!/usr/bin/env bash
# Prepare a single-node Docker Swarm on this machine for cc-ci, idempotently.
#
#   1. install Debian's docker.io when dockerd is missing (needs root + apt-get);
#   2. start dockerd in the background when no daemon answers, and wait until it does;
#   3. `docker swarm init --advertise-addr 127.0.0.1` when the daemon is not in a swarm;
#   4. create the attachable overlay network `proxy` when it is missing.
#
# Every step first checks whether it is needed and leaves a working daemon or swarm untouched.
# It prints one line per step saying what it did ("ok" = already so, "done" = changed).
# Exit status: 0 ready; 1 a step failed (the message says which and what to do).
set -euo pipefail

PROXY_NETWORK="${CCCI_PROXY_NETWORK:-proxy}"
# A /16 leaves room for many VIPs; a /24 ran out when `stack rm` leaked endpoints
# (docs/domain.md, "Lessons built in").
PROXY_SUBNET="${CCCI_PROXY_SUBNET:-10.200.0.0/16}"
DOCKERD_LOG="${CCCI_DOCKERD_LOG:-/var/log/cc-ci-dockerd.log}"
WAIT_S="${CCCI_DOCKERD_WAIT_S:-60}"

say() { printf 'local-swarm: %-28s %s\n' "$1" "$2"; }
die() { printf 'local-swarm: error: %s\n' "$*" >&2; exit 1; }

daemon_answers() { timeout 5 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

# 1. dockerd binary
if command -v dockerd >/dev/null 2>&1; then
  say "dockerd installed" "ok ($(command -v dockerd))"
elif daemon_answers; then
  say "dockerd installed" "ok (a daemon answers on the socket)"
else
  [ "$(id -u)" = 0 ] || die "dockerd is missing and this is not root; install docker.io (sudo apt-get install docker.io) and re-run"
  command -v apt-get >/dev/null 2>&1 || die "dockerd is missing and apt-get is not available; install Docker Engine and re-run"
  say "dockerd installed" "installing docker.io with apt-get ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq docker.io >/dev/null || die "apt-get install docker.io failed"
  say "dockerd installed" "done ($(command -v dockerd))"
fi
command -v docker >/dev/null 2>&1 || die "the docker client is missing; install docker.io"

# 2. a running daemon
if daemon_answers; then
  say "dockerd running" "ok (server $(docker info --format '{{.ServerVersion}}'))"
else
  [ "$(id -u)" = 0 ] || die "no Docker daemon answers and this is not root; start dockerd and re-run"
  # A stale pid file from a killed daemon stops a new one from starting.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd running" "a dockerd process exists but does not answer yet; waiting"
  else
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid: the daemon must outlive this script and the shell that ran it.
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    say "dockerd running" "started (log: $DOCKERD_LOG)"
  fi
  deadline=$((SECONDS + WAIT_S))
  until daemon_answers; do
    [ "$SECONDS" -lt "$deadline" ] || die "dockerd did not answer within ${WAIT_S}s; see $DOCKERD_LOG"
    sleep 0.5
  done
  say "dockerd running" "done (server $(docker info --format '{{.ServerVersion}}'))"
fi

# 3. swarm mode
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
case "$state" in
  active)
    say "swarm" "ok (node $(docker info --format '{{.Swarm.NodeID}}'))" ;;
  inactive)
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null || die "docker swarm init failed"
    say "swarm" "done (initialised, advertise 127.0.0.1)" ;;
  *)
    die "this daemon's swarm state is '$state'; fix it by hand (docker swarm leave --force, then re-run)" ;;
esac
[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] ||
  die "this node is not a swarm manager; cc-ci needs a manager to deploy stacks"

# 4. the shared proxy network
if docker network inspect "$PROXY_NETWORK" >/dev/null 2>&1; then
  driver=$(docker network inspect --format '{{.Driver}}/{{.Attachable}}' "$PROXY_NETWORK")
  [ "$driver" = overlay/true ] || die "network '$PROXY_NETWORK' exists but is $driver, not an attachable overlay"
  say "network $PROXY_NETWORK" "ok"
else
  docker network create --driver overlay --attachable --subnet "$PROXY_SUBNET" "$PROXY_NETWORK" >/dev/null ||
    die "could not create overlay network '$PROXY_NETWORK' ($PROXY_SUBNET)"
  say "network $PROXY_NETWORK" "done (overlay, attachable, $PROXY_SUBNET)"
fi

say "ready" "docker swarm on 127.0.0.1"
