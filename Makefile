# The two commands of the README on a fresh machine: `make demo` and `make test`.
# Each puts Node.js 24 first on PATH (fetched into .toolchain/ from the npm registry when the
# machine's node is older: .ci/node24.sh) and installs the dependencies when package-lock.json is
# newer than node_modules, so a fresh clone needs nothing else. ARGS passes options on:
# `make demo ARGS="--patients 500 --no-keep"`.
SHELL := /bin/bash
NODE24 := source .ci/node24.sh >/dev/null &&

.PHONY: demo test emulator setup

demo: setup
	@$(NODE24) node bin/ident-sync.js demo $(ARGS)

test: setup
	@$(NODE24) npm test

emulator: setup
	@$(NODE24) npm run --silent emulator -- $(ARGS)

setup: node_modules/.package-lock.json

# npm ci writes node_modules/.package-lock.json: it is newer than the lock file once installed.
node_modules/.package-lock.json: package-lock.json
	@set -o pipefail; source .ci/node24.sh | { grep -v '^using node' || true; }
	@$(NODE24) npm ci --no-audit --no-fund
