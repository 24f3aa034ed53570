#!/usr/bin/env bash
# Builds both packages with the Crossplane CLI: the Function (package/: metadata and the input CRD)
# and the Configuration (package/configuration/crossplane.yaml with both XRDs and Compositions,
# staged from apis/, their source). Any further arguments go to the Function's build, e.g.
# --embed-runtime-image=<image built from the Dockerfile>.
# Usage: package/build.sh <output dir> [crossplane xpkg build flags]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: package/build.sh <output dir> [crossplane xpkg build flags]" >&2; exit 1; }
source package/crossplane-cli.sh
cli=$(crossplane_cli xpkg build.sh)
out=$(mkdir -p "$1" && cd "$1" && pwd); shift
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# Neither package ships examples: point --examples-root at a folder that does not exist.
"$cli" xpkg build --package-root=package --ignore='configuration/*' \
  --examples-root="$stage/no-examples" --package-file="$out/function-xenvironment.xpkg" "$@"
mkdir "$stage/configuration"
cp package/configuration/crossplane.yaml "$stage/configuration/"
for api in xenvironment xenvironment-v2; do
  for file in definition composition; do cp "apis/$api/$file.yaml" "$stage/configuration/$api-$file.yaml"; done
done
"$cli" xpkg build --package-root="$stage/configuration" \
  --examples-root="$stage/no-examples" --package-file="$out/configuration-xenvironment.xpkg"
echo "build.sh: built $out/function-xenvironment.xpkg and $out/configuration-xenvironment.xpkg"
