#!/usr/bin/env bash
# Installs the pinned tools the tests need into .tools/ (git-ignored). Idempotent and quick when
# cached; fails loudly, never skips, when something cannot be had.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS"

# provider-kubernetes v1.3.1 is the newest release whose go.mod builds with Go 1.26
# (v1.4.x needs Go 1.27). Its CRDs validate the ProviderConfigs we render.
PROVIDER_KUBERNETES=v1.3.1

command -v go >/dev/null || { echo "install.sh: go is required (Go 1.26 or newer)" >&2; exit 1; }

crds="$TOOLS/crds/provider-kubernetes-$PROVIDER_KUBERNETES"
if [ ! -f "$crds/.complete" ]; then
  echo "install.sh: fetching provider-kubernetes $PROVIDER_KUBERNETES CRDs (go mod download)"
  dir=$(cd "$TOOLS" && GOFLAGS=-mod=mod go mod download -json \
    "github.com/crossplane-contrib/provider-kubernetes@$PROVIDER_KUBERNETES" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir/package/crds" ] || { echo "install.sh: no CRDs in provider-kubernetes module" >&2; exit 1; }
  rm -rf "$crds" && mkdir -p "$crds"
  cp "$dir"/package/crds/*.yaml "$crds/"
  touch "$crds/.complete"
fi
ln -sfn "provider-kubernetes-$PROVIDER_KUBERNETES" "$TOOLS/crds/provider-kubernetes"
