# The Kubernetes commands and etcd from their Go modules, for install.sh. Sourced.
# A module that requires k8s.io/kubernetes must replace each of its ./staging modules with the
# published release: one wrapper module serves every Kubernetes command, built in one `go build`.

# The control plane, the node (scheduler, kubelet, kube-proxy), and kubectl for people.
KUBERNETES_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

kubernetes_wrapper() {
  local dir=$1 imports
  imports=$(printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "${KUBERNETES_COMMANDS[@]}")
  # Tidied again when the list of commands changes: each brings modules of its own.
  [ "$(cat "$dir/.complete" 2>/dev/null)" = "$imports" ] && return
  mkdir -p "$dir"
  local gomod
  gomod=$(module_field "k8s.io/kubernetes@$KUBERNETES" GoMod)
  {
    printf 'module xenvironment.local/kubernetes\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES"
    grep -E '^[[:space:]]*k8s.io/[a-z-]+ => ./staging' "$gomod" | awk -v v="$STAGING" '{print "\t" $1 " => " $1 " " v}'
    printf ')\n'
  } > "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n%s\n)\n' "$imports" > "$dir/tools.go"
  (cd "$dir" && with_progress "Kubernetes $KUBERNETES modules" go mod tidy)
  echo "$imports" > "$dir/.complete"
}

# Builds every Kubernetes command not yet at $KUBERNETES, in one go build.
kubernetes_commands() {
  local missing=() name
  for name in "${KUBERNETES_COMMANDS[@]}"; do stamp_ok "$name" "$KUBERNETES" || missing+=("$name"); done
  [ ${#missing[@]} -eq 0 ] && return
  log "building ${missing[*]} $KUBERNETES (first time: many minutes)"
  local dir="$TOOLS/build/kubernetes-$KUBERNETES" minor=${KUBERNETES#v1.} out="$TOOLS/build/kubernetes-out"
  kubernetes_wrapper "$dir"
  rm -rf "$out" && mkdir -p "$out"
  (cd "$dir" && with_progress "${missing[*]} $KUBERNETES" go build -o "$out/" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=$KUBERNETES \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}" \
    "${missing[@]/#/k8s.io/kubernetes/cmd/}")
  for name in "${missing[@]}"; do
    mv "$out/$name" "$BIN/$name"
    echo "$KUBERNETES" > "$BIN/$name.version"
  done
}

etcd_command() {
  stamp_ok etcd "$ETCD" && return
  log "building etcd $ETCD"
  local dir="$TOOLS/build/etcd-$ETCD"
  mkdir -p "$dir"
  printf 'module xenvironment.local/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD" > "$dir/go.mod"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > "$dir/main.go"
  build_wrapper etcd "$ETCD" "$dir" . -ldflags "-s -w"
}
