#!/usr/bin/env bash
# Builds the benchmark's tools into .tools/ (git-ignored), pinned and cached: ghz (load generator),
# protoc (Debian's protobuf-compiler) with the Go plugins, and the Go peer in bench/peer.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

GHZ=v0.121.0
PROTOC_DEB=3.21.12-3+deb12u1
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.2
GRPC_GO=v1.85.0

export GOBIN="$BIN" CGO_ENABLED=0
[ -x "$BIN/ghz" ] || { echo "bench/build.sh: building ghz $GHZ"; go install "github.com/bojand/ghz/cmd/ghz@$GHZ"; }
[ -x "$BIN/protoc-gen-go" ] || go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
[ -x "$BIN/protoc-gen-go-grpc" ] || go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"
if ! command -v protoc >/dev/null; then
  echo "bench/build.sh: installing protobuf-compiler $PROTOC_DEB"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "protobuf-compiler=$PROTOC_DEB" >/dev/null
fi

peer="$TOOLS/bench/peer"
if [ ! -x "$BIN/peer" ] || [ bench/peer/main.go -nt "$BIN/peer" ] || [ bench/proto/run_function.proto -nt "$BIN/peer" ]; then
  echo "bench/build.sh: building the Go peer"
  rm -rf "$peer" && mkdir -p "$peer/fnv1"
  cp bench/peer/main.go "$peer/"
  printf 'module xenvironment.local/bench/peer\n\ngo 1.24\n\nrequire google.golang.org/grpc %s\n' "$GRPC_GO" > "$peer/go.mod"
  PATH="$BIN:$PATH" protoc -I bench/proto --go_out="$peer/fnv1" --go_opt=paths=source_relative \
    --go-grpc_out="$peer/fnv1" --go-grpc_opt=paths=source_relative bench/proto/run_function.proto
  (cd "$peer" && GOFLAGS=-mod=mod go mod tidy && go build -o "$BIN/peer" .)
fi
echo "bench/build.sh: $("$BIN/ghz" --version), protoc $(protoc --version | awk '{print $2}'), peer built"
