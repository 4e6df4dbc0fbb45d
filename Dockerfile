# ident-amocrm-sync on the official Node.js 24 image. The image runs the TypeScript sources
# compiled to JavaScript (faster start, ~28 MB less memory than Node's type stripping) with the
# production dependencies only. Builds with BuildKit and with the classic builder, offline from
# any registry once the base image is present (docs/container.md).
# The base is pinned by tag, not digest: the machines this project is built on reach no registry
# to look a digest up. Pin it where you build: `docker build --build-arg
# NODE_IMAGE=node:24-bookworm-slim@sha256:<digest>`; any Debian-based image with Node 24, npm and
# a user `node` (uid 1000) will do (.ci/base-image.sh makes one without a registry).
ARG NODE_IMAGE=node:24-bookworm-slim

# ── compiled JavaScript ───────────────────────────────────────────────────────────────────────
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# npm-ca.pem (optional, git-ignored): the certificate authorities a TLS-intercepting proxy needs,
# e.g. a copy of /etc/ssl/certs/ca-certificates.crt. Only these throw-away stages see it.
COPY package.json package-lock.json npm-ca.pe[m] ./
RUN if [ -s npm-ca.pem ]; then export NODE_EXTRA_CA_CERTS="$PWD/npm-ca.pem"; fi \
 && npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ── production dependencies, installed from the lockfile ──────────────────────────────────────
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json npm-ca.pe[m] ./
# The SQL parser ships every dialect (about 90 MB); the daemon loads only its T-SQL build.
RUN if [ -s npm-ca.pem ]; then export NODE_EXTRA_CA_CERTS="$PWD/npm-ca.pem"; fi \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/node-sql-parser/umd node_modules/node-sql-parser/index.js* \
 && find node_modules/node-sql-parser/build -type f ! -name 'transactsql.*' -delete \
 && find node_modules -name '*.map' -type f -delete

# ── the daemon: the last stage, so a plain `docker build .` makes this image ─────────────────────
FROM ${NODE_IMAGE} AS runtime
# The V8 heap settings the benchmark measured (README, "Benchmark"): a young generation large
# enough that a page of 250 amoCRM contacts dies young, and an old generation capped well above
# the daemon's flat ~60 MB. Two malloc arenas keep freed buffers from piling up per thread.
# HEALTH_HOST is left at the daemon's 127.0.0.1: with host networking nothing else then reaches
# /healthz and /metrics; docker-compose.yml sets 0.0.0.0 where it publishes the port.
# IDENT_SYNC_REQUIRE_STATE_MOUNT=1: the daemon refuses to start unless STATE_DIR is a mounted
# volume (else the tokens and the sync state would die with the container); `-e
# IDENT_SYNC_REQUIRE_STATE_MOUNT=0` keeps them in the container on purpose.
ENV NODE_ENV=production \
    STATE_DIR=/var/lib/ident-sync \
    IDENT_SYNC_REQUIRE_STATE_MOUNT=1 \
    HEALTH_PORT=9464 \
    LOG_FORMAT=json \
    NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=128" \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist/src ./dist/src
COPY sql ./sql
COPY mapping ./mapping
# State (tokens, checkpoint, links) belongs in a volume mounted here (docker-compose.yml names
# one); the folder is owned by the unprivileged `node` user, and a new named volume takes that
# over. No VOLUME line: it would leave an anonymous volume behind every container run without one.
# The base's set-uid and set-gid programs (su, mount, passwd…) lose those bits: nothing in the
# image may gain privileges, whatever runs it without no-new-privileges.
RUN mkdir -p /var/lib/ident-sync \
 && chown node:node /var/lib/ident-sync \
 && chmod 700 /var/lib/ident-sync \
 && ln -s /app/bin/ident-sync.js /usr/local/bin/ident-sync \
 && find / -xdev -perm /6000 -type f -exec chmod a-s {} +
USER node
EXPOSE 9464
# Prints /healthz's reason (docker inspect: State.Health.Log); passes with HEALTH_PORT=0 (off).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "dist/src/daemon/healthcheck.js"]
ENTRYPOINT ["ident-sync"]
CMD ["daemon"]
