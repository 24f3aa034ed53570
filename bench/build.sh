#!/usr/bin/env bash
# Builds the benchmark's tools, pinned and cached: ghz (load generator), protoc (Debian's
# protobuf-compiler) with the Go plugins and function-go-templating (a peer) into .tools/bin
# (git-ignored, shared between checkouts); the Go peer (bench/peer) and the fixed-rate load client
# (bench/load) into dist/bench, this checkout's own since they are built from its source.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN" "$TOOLS/build"
source test/tools/lib.sh

GHZ=v0.121.0
GO_TEMPLATING=v0.12.2
PROTOC_DEB=3.21.12-3+deb12u1
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.2
GRPC_GO=v1.85.0

go_environment
go_install ghz "$GHZ" "github.com/bojand/ghz/cmd/ghz@$GHZ"
go_install function-go-templating "$GO_TEMPLATING" \
  "github.com/crossplane-contrib/function-go-templating@$GO_TEMPLATING"
go_install protoc-gen-go "$PROTOC_GEN_GO" "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
go_install protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC" \
  "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"
if ! command -v protoc >/dev/null; then
  log "installing protobuf-compiler $PROTOC_DEB"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "protobuf-compiler=$PROTOC_DEB" >/dev/null
fi

out="$PWD/dist/bench"
# A Go command of bench/ (peer, load), rebuilt when its source changes. Usage: build_go <name> [protoc]
build_go() {
  local name=$1 src="$out/$1-src"
  if [ -x "$out/$name" ] && [ ! "bench/$name/main.go" -nt "$out/$name" ] &&
    [ ! bench/proto/run_function.proto -nt "$out/$name" ]; then
    return
  fi
  log "building bench/$name"
  rm -rf "$src" && mkdir -p "$src"
  cp "bench/$name/main.go" "$src/"
  printf 'module xenvironment.local/bench/%s\n\ngo 1.24\n\nrequire google.golang.org/grpc %s\n' "$name" "$GRPC_GO" > "$src/go.mod"
  if [ "${2:-}" = protoc ]; then
    mkdir -p "$src/fnv1"
    PATH="$BIN:$PATH" protoc -I bench/proto --go_out="$src/fnv1" --go_opt=paths=source_relative \
      --go-grpc_out="$src/fnv1" --go-grpc_opt=paths=source_relative bench/proto/run_function.proto
  fi
  (cd "$src" && go mod tidy && go build -o "$out/$name" .)
}
build_go peer protoc
build_go load
smoke function-go-templating "--insecure" --help
log "ghz $GHZ, protoc $(protoc --version | awk '{print $2}'), function-go-templating $GO_TEMPLATING, peer and load client built"
