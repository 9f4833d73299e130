# One image serves every role: serve (default), migrate, operator, token.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY operator ./operator
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; optional ones (embedded PostgreSQL's binaries) are for
# laptops, not clusters, where DATABASE_URL is always set.
# Scripts stay off (dependencies' install scripts are not needed here); the one patch to
# the PostgreSQL driver is applied explicitly (see scripts/patch-postgres.mjs).
COPY scripts/patch-postgres.mjs ./scripts/
RUN npm ci --omit=dev --omit=optional --ignore-scripts && node scripts/patch-postgres.mjs && npm cache clean --force
COPY --from=build /app/dist ./dist
# Numeric, so that a pod with runAsNonRoot and no runAsUser can be verified as non-root
# (the kubelet refuses a named user it cannot resolve). 1000:1000 is the base image's `node`.
USER 1000:1000
EXPOSE 8000 9464
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["serve"]
