#!/usr/bin/env bash
# A private Docker engine for the container test (test/container/engine.test.ts), run by hand
# where there is no systemd: its own socket, data and exec roots, no bridge and no iptables rules,
# so it touches neither /var/run/docker.sock (the SQL Server tests keep their own runtime check)
# nor the host's network. The data root stays in the git-ignored .toolchain/docker/ folder: image
# layers (the build stages' too: they are the next build's cache) survive to the next run; delete
# the folder to reclaim the space.
#   .ci/docker-engine.sh start   installs docker.io and debootstrap when missing (root, apt-get),
#                                starts dockerd, prints its DOCKER_HOST (unix://…) on the last line;
#                                exits 1 with the reason when it cannot
#   .ci/docker-engine.sh stop    stops the engine it started
set -euo pipefail
cd "$(dirname "$0")/.."
state="$PWD/.toolchain/docker"
# Unix socket paths are short (108 bytes): the socket and exec root live in /tmp.
run_dir="/tmp/ident-sync-docker-$(id -u)-$(printf '%s' "$PWD" | cksum | cut -d' ' -f1)"
socket="unix://$run_dir/docker.sock"
pidfile="$run_dir/dockerd.pid"
cannot() { echo "no Docker engine: $*" >&2; exit 1; }
answers() { DOCKER_HOST="$socket" timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
  [ "$(id -u)" = 0 ] || cannot "starting dockerd needs root"
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || cannot "dockerd or debootstrap is missing and there is no apt-get to install them"
    echo "installing docker.io and debootstrap (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq docker.io debootstrap >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq docker.io debootstrap >/dev/null 2>&1; } ||
      cannot "apt-get could not install docker.io and debootstrap"
  fi
  command -v docker >/dev/null || cannot "no docker command"
  mkdir -p "$state/data" "$run_dir/exec"
  chmod 700 "$run_dir"
  if ! answers; then
    dockerd --host "$socket" --data-root "$state/data" --exec-root "$run_dir/exec" \
      --pidfile "$pidfile" --bridge none --iptables=false --ip6tables=false \
      >"$state/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 60); do
      answers && break
      kill -0 $! 2>/dev/null || cannot "dockerd exited: $(tail -1 "$state/dockerd.log")"
      sleep 0.5
    done
    answers || cannot "dockerd did not answer within 30 s (see $state/dockerd.log)"
  fi
  echo "$socket"
}

stop() {
  [ -s "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  rm -f "$pidfile"
  # dockerd leaves its network namespace mounted in the exec root.
  if grep -q " $run_dir/exec/netns/default " /proc/mounts 2>/dev/null; then
    umount "$run_dir/exec/netns/default" 2>/dev/null || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
