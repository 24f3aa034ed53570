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
# One malloc arena instead of one per thread: 5-7 MiB less RSS under load, with no CPU cost that
# the benchmark could see (bench/results.md).
ENV MALLOC_ARENA_MAX=1
EXPOSE 9443
USER 65532:65532
# A bounded heap keeps RSS low; a 4 MiB young generation holds what a large request allocates
# while it is answered, so little of it is copied by the scavenger (see bench/results.md). The
# bridge sidecar runs the same image with its own command (examples/bridge/).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "--max-old-space-size=128", "function/main.mjs"]
