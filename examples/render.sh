#!/usr/bin/env bash
# Renders example stages with the Crossplane CLI against the function started by `npm start`
# (localhost:9443), and validates everything rendered against the XRD and the real Crossplane and
# provider CRDs, offline, from .tools/ (`npm run tools` installs them and the CLI) — as `npm test`
# does, which also compares each stage with <examples>/expected/<stage>.yaml.
# Usage: examples/render.sh [v1|v2] [stage ...]
#   v1: XEnvironment and its claim (examples/, apis/xenvironment); v2: namespaced Environment
#   (examples/v2/, apis/xenvironment-v2). Stages: new host-namespace-ready cluster-creating
#   cluster-starting cluster-ready tools-starting some-tools-ready all-ready (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
source package/crossplane-cli.sh
cli=$(crossplane_cli render render.sh .tools/bin/crank)
case ${1:-v1} in
  v1) examples=examples apis=apis/xenvironment ;;
  v2) examples=examples/v2 apis=apis/xenvironment-v2 ;;
  *) echo "usage: examples/render.sh [v1|v2] [stage ...]" >&2; exit 1 ;;
esac
[ $# -gt 0 ] && shift
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(new host-namespace-ready cluster-creating cluster-starting cluster-ready tools-starting some-tools-ready all-ready)
for stage in "${stages[@]}"; do
  echo "# stage: $stage"
  observed=()
  [ -f "$examples/observed/$stage.yaml" ] && observed=(--observed-resources="$examples/observed/$stage.yaml")
  render=("$cli" render "$examples/xr.yaml" "$apis/composition.yaml" examples/functions.yaml
    --xrd="$apis/definition.yaml" --include-full-xr "${observed[@]}")
  "${render[@]}" --include-function-results
  # Without the function's results, which have no schema; the trailing slashes make the CLI
  # follow the symlinked folders.
  "${render[@]}" | "$cli" beta validate \
    "$apis/definition.yaml,.tools/crds/provider-helm/,.tools/crds/provider-kubernetes/" - \
    --cache-dir=.tools/validate-cache --crossplane-image=xpkg.crossplane.io/crossplane/crossplane:v2.2.4 \
    --error-on-missing-schemas --skip-success-results | sed 's/^/# /'
done
