# syntax=docker/dockerfile:1
#
# b24-offline-monitor: production image.
#
#   docker build -t b24-offline-monitor .
#   docker run -d -p 9464:9464 -v b24-monitor-data:/app/data \
#     -e B24_PORTAL_URL=... -e B24_CLIENT_ID=... -e B24_CLIENT_SECRET_FILE=/run/secrets/... \
#     b24-offline-monitor
#
# Node 24 is the current LTS (Node 20 reached its end of life in April 2026); CI runs the
# test suite on Node 20 and on Node 24.
#
# Expected size: about 180 MB uncompressed, about 60 MB compressed in a registry
# (node:24-alpine is ~160 MB of it; production node_modules ~20 MB; dist/ < 1 MB).
# With NODE_IMAGE=node:24-bookworm-slim (glibc) expect about 240 MB. Estimated: not built
# here (no Docker engine on the CI machine).
#
# Stages: `build` compiles TypeScript with the dev dependencies; `prod-deps` installs the
# production dependencies only, without running any package scripts; the final stage
# copies both results. No TypeScript compiler, no npm cache, no sources in the final image.

ARG NODE_IMAGE=node:24-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied; the build runs
# explicitly below so that this dependency layer stays cached while src/ changes.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    MONITOR_LISTEN=0.0.0.0:9464
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
# Token files (the rotating refresh-token pair) live here. The directory belongs to the
# unprivileged `node` user (uid 1000) of the base image, so a named volume mounted here
# starts out writable by it; a bind mount must be writable by uid 1000.
RUN mkdir -p /app/data && chown node:node /app/data && chmod 0700 /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 9464
# No curl/wget needed: Node itself asks /healthz on the port of MONITOR_LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "const l=process.env.MONITOR_LISTEN||'0.0.0.0:9464';const i=l.lastIndexOf(':');let h=l.slice(0,i);if(h===''||h==='0.0.0.0'||h==='::'||h==='[::]')h='127.0.0.1';require('node:http').get({host:h,port:Number(l.slice(i+1)),path:'/healthz',timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"
# SIGTERM (docker stop) is handled by the monitor itself: it stops polling and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start"]
