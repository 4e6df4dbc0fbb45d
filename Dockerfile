# syntax=docker/dockerfile:1
# ident-amocrm-sync on the official Node.js 24 image. Node 24 runs the TypeScript sources
# directly (type stripping), so the image holds the sources and production dependencies only.
ARG NODE_IMAGE=node:24-bookworm-slim

# ── production dependencies, installed from the lockfile ──────────────────────────────────────
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The SQL parser ships every dialect (about 90 MB); the daemon loads only its T-SQL build.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/node-sql-parser/umd node_modules/node-sql-parser/index.js* \
 && find node_modules/node-sql-parser/build -type f ! -name 'transactsql.*' -delete \
 && find node_modules -name '*.map' -type f -delete \
 && npm cache clean --force

# ── the daemon ────────────────────────────────────────────────────────────────────────────────
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    STATE_DIR=/var/lib/ident-sync \
    HEALTH_PORT=9464 \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY sql ./sql
COPY mapping ./mapping
# State (tokens, checkpoint, links) lives in a volume owned by the unprivileged `node` user.
RUN mkdir -p /var/lib/ident-sync \
 && chown node:node /var/lib/ident-sync \
 && chmod 700 /var/lib/ident-sync \
 && ln -s /app/bin/ident-sync.js /usr/local/bin/ident-sync
USER node
VOLUME ["/var/lib/ident-sync"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["ident-sync"]
CMD ["daemon"]

# ── the amoCRM emulator, for the compose demo only ────────────────────────────────────────────
FROM ${NODE_IMAGE} AS demo-emulator
WORKDIR /app
COPY test/emulator ./test/emulator
ENV EMULATOR_HOST=0.0.0.0 EMULATOR_PORT=8090
USER node
EXPOSE 8090
CMD ["node", "test/emulator/main.ts"]
