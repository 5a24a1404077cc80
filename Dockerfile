# syntax=docker/dockerfile:1
# The incident-ledger API. Build: `docker build -t incident-ledger .` (or `docker compose build`).
# Without EVENTSTORE_URL it keeps its events in embedded SQLite under LEDGER_DATA_DIR (/data);
# docker-compose.yml points it at the kurrentdb service instead.

# ---- build: all dependencies (better-sqlite3 compiles or fetches its binary here), tsc --------
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

# ---- runtime: production dependencies and the compiled JavaScript only ------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    LEDGER_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# Readiness: /health answers 200 only when the event store does (the slim image has no curl).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/apps/api/main.js"]
