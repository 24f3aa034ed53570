# syntax=docker/dockerfile:1
# One image for the function and, as a second entrypoint, the bridge sidecar: each is a single
# bundled file, so the runtime image carries no node_modules.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY common ./common
COPY function ./function
COPY bridge ./bridge
RUN npm run build

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
COPY --from=build /src/dist/bundle ./
ENV NODE_ENV=production
EXPOSE 9443
USER 65532:65532
# A small young generation and a bounded heap keep RSS low (see bench/results.md). The bridge
# sidecar runs the same image with: /nodejs/bin/node bridge/main.mjs
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "--max-old-space-size=128", "function/main.mjs"]
