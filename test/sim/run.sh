#!/usr/bin/env bash
# `npm run sim`: the simulation on Node 24 whatever node is first on PATH (.ci/node24.sh fetches it
# into .toolchain/ when the machine's is older), so it runs as the README says on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/node24.sh >/dev/null
exec node --disable-warning=ExperimentalWarning test/sim/main.ts "$@"
