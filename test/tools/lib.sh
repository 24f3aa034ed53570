# Helpers for install.sh: pinned Go tools and module folders, cached in $TOOLS with a version stamp
# each, so that only what a pin change touches is rebuilt. Sourced, not run.

log() { echo "tools: $*"; }
fail() { echo "tools: $*" >&2; exit 1; }

# Go must find the Crossplane modules the usual proxy refuses in ../shared/go-modules.
go_environment() {
  command -v go >/dev/null || fail "go is required (Go 1.26 or newer)"
  [ -d ../shared/go-modules ] || fail "../shared/go-modules is missing (see ../shared/README.md)"
  GOPROXY="file://$(cd ../shared/go-modules && pwd),$(GOPROXY= go env GOPROXY)"
  export GOPROXY GONOSUMDB=github.com/crossplane,github.com/crossplane-contrib,github.com/nebius
  # Static binaries, and the same flags as the other scripts, so all share one Go build cache; the
  # installed Go, never a downloaded toolchain.
  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
}

stamp_ok() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/$1.version" 2>/dev/null)" = "$2" ]; }

# Runs a command, printing a line every 30 s so a long build never looks like a hang, and its
# duration at the end (the figures the README quotes).
with_progress() {
  local what=$1; shift
  local start=$SECONDS next=30
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS - start >= next )); then
      log "still on $what ($((SECONDS - start)) s)"
      next=$((next + 30))
    fi
  done
  wait "$pid"
  log "done: $what in $((SECONDS - start)) s"
}

# A field of `go mod download -json` for a module version (Dir: its folder in the module cache,
# GoMod: its go.mod), downloading it if need be. Usage: module_field <module@version> <field>
module_field() {
  (cd "$TOOLS" && go mod download -json "$1") |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8"))[process.argv[1]])' "$2"
}

# Copies a folder out of a module into $TOOLS/<dest>, once per version: its YAML files, or with
# --tree all of it, recursively (a chart).
# Usage: copy_from_module [--tree] <module@version> <folder in module> <dest>
copy_from_module() {
  local tree=false
  [ "$1" = --tree ] && { tree=true; shift; }
  local dest="$TOOLS/$3"
  [ -f "$dest/.complete" ] && return
  log "fetching $2 of $1"
  local dir
  dir=$(module_field "$1" Dir)
  [ -d "$dir/$2" ] || fail "no $2 in $1"
  rm -rf "$dest" "$dest.partial" && mkdir -p "$dest.partial"
  if $tree; then cp -r "$dir/$2/." "$dest.partial/"; else cp "$dir/$2"/*.yaml "$dest.partial/"; fi
  chmod -R u+w "$dest.partial"
  touch "$dest.partial/.complete"
  mv "$dest.partial" "$dest"
}

# Builds <package> of the wrapper module in <dir> (its go.mod and sources written by the caller)
# into $BIN/<name>, stamped <stamp>. Usage: build_wrapper <name> <stamp> <dir> <package> [go build flags]
build_wrapper() {
  local name=$1 stamp=$2 dir=$3 package=$4; shift 4
  (cd "$dir" && with_progress "$name modules" go mod tidy)
  (cd "$dir" && with_progress "$name $stamp" go build -o "$BIN/$name.partial" "$@" "$package")
  mv "$BIN/$name.partial" "$BIN/$name"
  echo "$stamp" > "$BIN/$name.version"
}

# go install of a pinned command into $BIN/<name>; each gets its own GOBIN, as several are
# called `provider`. Usage: go_install <name> <version> <package@version> [go install flags]
go_install() {
  local name=$1 version=$2 package=$3; shift 3
  stamp_ok "$name" "$version" && return
  log "building $name $version"
  local gobin="$TOOLS/build/gobin-$name"
  rm -rf "$gobin"
  GOBIN="$gobin" with_progress "$name $version" go install "$@" "$package"
  mv "$gobin/$(basename "${package%@*}")" "$BIN/$name"
  echo "$version" > "$BIN/$name.version"
}

# Runs a built binary and checks it prints what it should (its pinned version, or its usage).
# Usage: smoke <name> <expected text> <args...>
smoke() {
  local name=$1 expected=$2; shift 2
  local out
  out=$("$BIN/$name" "$@" 2>&1) || fail "$name $* failed: $out"
  grep -qF -- "$expected" <<<"$out" || fail "$name $* does not print \"$expected\": $out"
}

# As smoke, for a command from a Debian package (on PATH, not in $BIN).
smoke_path() {
  local name=$1 expected=$2; shift 2
  local out
  out=$("$name" "$@" 2>&1) || fail "$name $* failed: $out"
  grep -qF -- "$expected" <<<"$out" || fail "$name $* does not print \"$expected\": $out"
}
