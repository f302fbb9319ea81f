# syntax=docker/dockerfile:1
# One image for every role of docker-compose.yml (api, worker, rail, migrate), each a `node` process
# over the compiled output: no TypeScript, no tsx and no bundling at run time.
# Node 24 is an LTS line (supported to April 2028).
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Build: every dependency (TypeScript, the workflow bundler), exactly as package-lock.json locks
#    them; install scripts run only for the packages package.json's allowScripts names.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY migrations ./migrations
# Of the local stack, only the simulated rail's two files: docker-compose runs it as the `rail` service.
COPY stack/rail/main.ts stack/rail/server.ts ./stack/rail/
# TypeScript -> dist/, the console's static files, and dist/workflow-bundle.js (the Temporal
# workflow bundle, built here once rather than at every worker start).
RUN npm run build

# 2. Production dependencies only, from the same lock. No install scripts: nothing the image runs
#    needs one (they build or fetch binaries for `npm start`'s embedded Postgres and for tsx).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. The image: production node_modules + dist/, run as the unprivileged `node` user under tini,
#    which as PID 1 forwards SIGTERM to node (graceful shutdown) and reaps zombies.
FROM ${NODE_IMAGE}
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
# The API; docker-compose.yml gives the other roles their commands:
#   node dist/worker/main.js | node dist/stack/rail/main.js | node dist/src/db/migrate-cli.js up
CMD ["node", "dist/src/api/main.js"]
