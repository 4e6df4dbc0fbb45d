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
#   .ci/docker-engine.sh stop    stops the engine it started and waits until dockerd has exited
#                                (SIGKILL after DOCKERD_STOP_SECONDS, default 60); exits 1 if it runs on
set -euo pipefail
cd "$(dirname "$0")/.."
state="$PWD/.toolchain/docker"
# Unix socket paths are short (108 bytes): the socket and exec root live in /tmp.
run_dir="/tmp/ident-sync-docker-$(id -u)-$(printf '%s' "$PWD" | cksum | cut -d' ' -f1)"
socket="unix://$run_dir/docker.sock"
pidfile="$run_dir/dockerd.pid"
cannot() { echo "no Docker engine: $*" >&2; exit 1; }
answers() { DOCKER_HOST="$socket" timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
# Seconds `stop` waits for dockerd after SIGTERM (it stops the containers first) before SIGKILL.
stop_seconds="${DOCKERD_STOP_SECONDS:-60}"

# The pid of the dockerd this script started for this folder, if it still runs: the pidfile's,
# checked against the process's command line (a pid may have been reused).
running_pid() {
  [ -s "$pidfile" ] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--host $socket " || return 1
  echo "$pid"
}

# Waits up to $2 seconds for process $1 to end; fails if it still runs.
gone_within() {
  local i
  for i in $(seq $(($2 * 5))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.2
  done
  ! kill -0 "$1" 2>/dev/null
}

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
    # An earlier dockerd of this folder that runs but does not answer (still stopping, or hung)
    # holds the data root and writes the log: end it before starting another.
    if old="$(running_pid)"; then
      echo "an earlier dockerd of this folder (pid $old) runs but does not answer: stopping it first" >&2
      stop || cannot "the earlier dockerd (pid $old) did not end; kill it, then start again"
    fi
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

# Ends the engine this script started and returns only once its dockerd has exited: SIGTERM, up to
# $stop_seconds for it to stop its containers, then SIGKILL. The pidfile goes only then, so a later
# start never runs beside a dockerd that still writes the log and holds the data root.
stop() {
  local pid
  if pid="$(running_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! gone_within "$pid" "$stop_seconds"; then
      echo "dockerd (pid $pid) did not stop within $stop_seconds s: killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      gone_within "$pid" 10 || { echo "dockerd (pid $pid) is still running; the pidfile $pidfile stays" >&2; return 1; }
      # Its containerd (started with a config in our exec root) outlives a killed dockerd.
      for cmdline in /proc/[0-9]*/cmdline; do
        if tr '\0' ' ' <"$cmdline" 2>/dev/null | grep -qF -- "$run_dir/exec/containerd/containerd.toml"; then
          child="${cmdline#/proc/}"
          kill -KILL "${child%/cmdline}" 2>/dev/null || true
        fi
      done
    fi
  fi
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
