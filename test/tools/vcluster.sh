# vcluster, the environments' cluster backend, for install.sh: its syncer and its chart from the
# github.com/loft-sh/vcluster module, and kine, the SQLite-backed etcd its default backing store
# runs (as vcluster's own image has it). Sourced.

# The syncer, built as vcluster's release builds vcluster-oss (CGO off; no telemetry version
# stamped, so it sends none), through a wrapper module that requires the pinned release.
vcluster_command() {
  stamp_ok vcluster "$VCLUSTER" && return
  log "building vcluster $VCLUSTER (first time: many minutes)"
  local dir="$TOOLS/build/vcluster-$VCLUSTER"
  mkdir -p "$dir"
  printf 'module xenvironment.local/vcluster\n\ngo 1.25\n\nrequire github.com/loft-sh/vcluster %s\n' "$VCLUSTER" > "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/loft-sh/vcluster/cmd/vcluster"\n' > "$dir/tools.go"
  build_wrapper vcluster "$VCLUSTER" "$dir" github.com/loft-sh/vcluster/cmd/vcluster -ldflags "-s -w"
}

# kine with its SQLite driver, which needs cgo: linked statically, as kine's own build does, so
# that the image needs no C library.
kine_command() {
  stamp_ok kine "$KINE" && return
  log "building kine $KINE"
  local dir="$TOOLS/build/kine-$KINE"
  mkdir -p "$dir"
  printf 'module xenvironment.local/kine\n\ngo 1.24.0\n\nrequire github.com/k3s-io/kine %s\n' "$KINE" > "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/k3s-io/kine"\n' > "$dir/tools.go"
  CGO_ENABLED=1 CGO_CFLAGS="-DSQLITE_ENABLE_DBSTAT_VTAB=1 -DSQLITE_USE_ALLOCA=1" \
    build_wrapper kine "$KINE" "$dir" github.com/k3s-io/kine \
    -ldflags "-s -w -extldflags -static -X github.com/k3s-io/kine/pkg/version.Version=$KINE"
}
