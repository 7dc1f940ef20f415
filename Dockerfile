# syntax=docker/dockerfile:1
# Build stage: production dependencies only (the service runs its TypeScript directly on Node 24).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    SQLITE_PATH=/data/orchestrator.db \
    AUDIT_ARCHIVE_DIR=/data/audit-archive
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# The offline audit verification (npm run audit:verify) runs in the image too.
COPY scripts/audit-verify.ts ./scripts/
RUN mkdir -p /data/audit-archive && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM itself (close-with-grace): running steps finish or are released.
CMD ["node", "src/server.ts"]
