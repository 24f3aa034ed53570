#!/usr/bin/env bash
# Builds the pinned kube-apiserver and etcd from their Go modules into .tools/bin (git-ignored).
# Cached: a binary whose version stamp matches is not rebuilt. A first build takes about 10 minutes
# on 2 cores (mostly kube-apiserver); progress is printed so the wait never looks like a hang.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN" "$TOOLS/build"

KUBERNETES=v1.35.4   # matches Crossplane 2.2's Kubernetes libraries (v0.35.x)
STAGING=v0.35.4
ETCD=v3.6.16

export CGO_ENABLED=0 GOFLAGS=-mod=mod
command -v go >/dev/null || { echo "build.sh: go is required" >&2; exit 1; }

stamp_ok() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/$1.version" 2>/dev/null)" = "$2" ]; }

# Print a line every 30 s while a long command runs.
with_progress() {
  local what=$1; shift
  "$@" &
  local pid=$! start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if (( (SECONDS - start) % 30 < 5 )); then echo "build.sh: still building $what ($((SECONDS - start)) s)"; fi
  done
  wait "$pid"
}

if ! stamp_ok kube-apiserver "$KUBERNETES"; then
  echo "build.sh: building kube-apiserver $KUBERNETES (first time: ~10 min)"
  dir="$TOOLS/build/kube-apiserver"
  mkdir -p "$dir"
  gomod=$(cd "$TOOLS" && go mod download -json "k8s.io/kubernetes@$KUBERNETES" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  # k8s.io/kubernetes replaces its staging modules with ./staging/...; a module that requires it
  # must replace each with its published release instead.
  {
    printf 'module xenvironment.local/kube-apiserver\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES"
    grep -E '^[[:space:]]*k8s.io/[a-z-]+ => ./staging' "$gomod" | awk -v v="$STAGING" '{print "\t" $1 " => " $1 " " v}'
    printf ')\n'
  } > "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > "$dir/tools.go"
  (cd "$dir" && with_progress "kube-apiserver modules" go mod tidy)
  (cd "$dir" && with_progress kube-apiserver go build -o "$BIN/kube-apiserver" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=$KUBERNETES \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35" \
    k8s.io/kubernetes/cmd/kube-apiserver)
  echo "$KUBERNETES" > "$BIN/kube-apiserver.version"
fi

if ! stamp_ok etcd "$ETCD"; then
  echo "build.sh: building etcd $ETCD"
  dir="$TOOLS/build/etcd"
  mkdir -p "$dir"
  printf 'module xenvironment.local/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD" > "$dir/go.mod"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > "$dir/main.go"
  (cd "$dir" && with_progress "etcd modules" go mod tidy)
  (cd "$dir" && with_progress etcd go build -o "$BIN/etcd" -ldflags "-s -w" .)
  echo "$ETCD" > "$BIN/etcd.version"
fi
echo "build.sh: $("$BIN/kube-apiserver" --version), etcd $("$BIN/etcd" --version | head -1 | awk '{print $3}')"
