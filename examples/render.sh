#!/usr/bin/env bash
# Renders each example stage with the Crossplane CLI against the function started by `npm start`.
# Usage: examples/render.sh [stage ...]   (stages: new host-namespace-ready cluster-creating cluster-starting cluster-ready some-tools-ready all-ready)
set -euo pipefail
cd "$(dirname "$0")/.."
cli=$(command -v crossplane || command -v crank || true)
[ -n "$cli" ] || { echo "render.sh: needs the Crossplane CLI (crossplane or crank) on PATH" >&2; exit 1; }
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(new host-namespace-ready cluster-creating cluster-starting cluster-ready some-tools-ready all-ready)
for stage in "${stages[@]}"; do
  echo "# stage: $stage"
  observed=()
  [ -f "examples/observed/$stage.yaml" ] && observed=(--observed-resources "examples/observed/$stage.yaml")
  "$cli" render examples/xr.yaml apis/xenvironment/composition.yaml examples/functions.yaml \
    --include-function-results "${observed[@]}"
done
