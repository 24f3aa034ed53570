# syntax=docker/dockerfile:1
# One image for the function and, as a second entrypoint, the bridge sidecar.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY common ./common
COPY function ./function
COPY bridge ./bridge
RUN npm run build && npm prune --omit=dev

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
ENV NODE_ENV=production
EXPOSE 9443
USER 65532:65532
# The bridge sidecar runs the same image with: node dist/bridge/main.js
ENTRYPOINT ["/nodejs/bin/node", "dist/function/main.js"]
