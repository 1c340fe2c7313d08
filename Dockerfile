# The relay image, used by the Cloudflare Container (CODEX_RELAY), by Fly.io and by docker-compose.yml.
# Node 22 runs the TypeScript sources directly (type stripping), so there is no build step.
# test/node/deploy-image.test.ts checks this file and runs its CMD and HEALTHCHECK without Docker.
FROM node:22.23.3-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Only `dependencies` (the relay's runtime); the Worker's packages are devDependencies bundled by wrangler.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:22.23.3-bookworm-slim
# HOST=0.0.0.0 makes the relay refuse to start unless UPSTREAM_RELAY_TOKEN (32+ characters) is set.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8788
WORKDIR /app
# Root-owned and read-only for the unprivileged user the relay runs as.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY relay ./relay
USER node
EXPOSE 8788
# Streams in flight get RELAY_SHUTDOWN_GRACE_MS to finish after this signal.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "relay/server.ts"]
