# kube-apiserver, kube-controller-manager and etcd from their Go modules, for install.sh. Sourced.
# A module that requires k8s.io/kubernetes must replace each of its ./staging modules with the
# published release: one wrapper module serves both Kubernetes commands.

kubernetes_wrapper() {
  local dir=$1
  if [ ! -f "$dir/.complete" ]; then
    mkdir -p "$dir"
    local gomod
    gomod=$(module_field "k8s.io/kubernetes@$KUBERNETES" GoMod)
    {
      printf 'module xenvironment.local/kubernetes\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES"
      grep -E '^[[:space:]]*k8s.io/[a-z-]+ => ./staging' "$gomod" | awk -v v="$STAGING" '{print "\t" $1 " => " $1 " " v}'
      printf ')\n'
    } > "$dir/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n)\n' > "$dir/tools.go"
    (cd "$dir" && with_progress "Kubernetes $KUBERNETES modules" go mod tidy)
    touch "$dir/.complete"
  fi
}

kubernetes_command() {
  local name=$1
  stamp_ok "$name" "$KUBERNETES" && return
  log "building $name $KUBERNETES (first time: several minutes)"
  local dir="$TOOLS/build/kubernetes-$KUBERNETES" minor=${KUBERNETES#v1.}
  kubernetes_wrapper "$dir"
  (cd "$dir" && with_progress "$name $KUBERNETES" go build -o "$BIN/$name.partial" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=$KUBERNETES \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}" \
    "k8s.io/kubernetes/cmd/$name")
  mv "$BIN/$name.partial" "$BIN/$name"
  echo "$KUBERNETES" > "$BIN/$name.version"
}

etcd_command() {
  stamp_ok etcd "$ETCD" && return
  log "building etcd $ETCD"
  local dir="$TOOLS/build/etcd-$ETCD"
  mkdir -p "$dir"
  printf 'module xenvironment.local/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD" > "$dir/go.mod"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > "$dir/main.go"
  (cd "$dir" && with_progress "etcd $ETCD modules" go mod tidy)
  (cd "$dir" && with_progress "etcd $ETCD" go build -o "$BIN/etcd.partial" -ldflags "-s -w" .)
  mv "$BIN/etcd.partial" "$BIN/etcd"
  echo "$ETCD" > "$BIN/etcd.version"
}
