# What a real node needs besides the Kubernetes commands, for install.sh. Sourced.

# containerd, runc, the CNI plugins and iptables for the kubelet and kube-proxy; busybox for the
# test workload image. Debian 12's own builds, installed only where missing (root, as on CI).
DEBIAN_PACKAGES=(containerd runc containernetworking-plugins iptables conntrack busybox-static)

debian_packages() {
  local missing=() package
  for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" = 0 ] || fail "Debian packages ${missing[*]} are missing; installing them needs root"
  log "installing Debian packages ${missing[*]}"
  apt-cache show "${missing[@]}" >/dev/null 2>&1 || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package starts no service here (no systemd); the tests start containerd with their own config.
}

# The sandbox ("pause") binary from the Kubernetes module's source, built as its Makefile does.
pause_command() {
  stamp_ok pause "$PAUSE" && return
  log "building pause $PAUSE"
  local dir
  dir=$(module_field "k8s.io/kubernetes@$KUBERNETES" Dir)
  gcc -Os -Wall -Werror -static "-DVERSION=v$PAUSE" -o "$BIN/pause.partial" "$dir/build/pause/linux/pause.c"
  strip "$BIN/pause.partial"
  mv "$BIN/pause.partial" "$BIN/pause"
  echo "$PAUSE" > "$BIN/pause.version"
}

# CoreDNS with the plugins a cluster's DNS uses: kubeadm's Corefile, vcluster's (rewrite, hosts,
# forward to the host cluster's DNS) and `template` for answering NXDOMAIN outside the cluster. A
# main package of our own imports them, so that none of the cloud providers' SDKs is built.
# Directives in the order of CoreDNS's plugin.cfg, the order plugins see a query; `name:package`
# where the package is named otherwise.
COREDNS_PLUGINS=(reload ready health prometheus:metrics errors log loadbalance rewrite cache template hosts
  kubernetes loop forward)

coredns_command() {
  local stamp="$COREDNS ${COREDNS_PLUGINS[*]}"
  stamp_ok coredns "$stamp" && return
  log "building coredns $COREDNS"
  local dir="$TOOLS/build/coredns-$COREDNS" plugin
  mkdir -p "$dir"
  printf 'module xenvironment.local/coredns\n\ngo 1.26.0\n\nrequire github.com/coredns/coredns %s\n' "$COREDNS" > "$dir/go.mod"
  {
    printf 'package main\n\nimport (\n\t"github.com/coredns/coredns/core/dnsserver"\n\t"github.com/coredns/coredns/coremain"\n\n'
    for plugin in "${COREDNS_PLUGINS[@]}"; do printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "${plugin#*:}"; done
    printf ')\n\nfunc main() {\n\tdnsserver.Directives = []string{'
    for plugin in "${COREDNS_PLUGINS[@]}"; do printf '"%s", ' "${plugin%%:*}"; done | sed 's/, $//'
    printf '}\n\tcoremain.Run()\n}\n'
  } > "$dir/main.go"
  gofmt -w "$dir/main.go"
  build_wrapper coredns "$stamp" "$dir" . \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS"
}

# The Helm CLI that installs Crossplane's chart, at provider-helm's Helm version and built beside
# provider-helm, so that both select the same versions of every module and share the build cache.
helm_command() {
  stamp_ok helm "$HELM" && return
  log "building helm $HELM"
  local dir="$TOOLS/build/helm-$HELM"
  mkdir -p "$dir"
  printf 'module xenvironment.local/helm\n\ngo 1.26.5\n\nrequire (\n\thelm.sh/helm/v4 %s\n\tgithub.com/crossplane-contrib/provider-helm %s\n)\n' \
    "$HELM" "$PROVIDER_HELM" > "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "github.com/crossplane-contrib/provider-helm/cmd/provider"\n\t_ "helm.sh/helm/v4/cmd/helm"\n)\n' > "$dir/tools.go"
  build_wrapper helm "$HELM" "$dir" helm.sh/helm/v4/cmd/helm \
    -ldflags "-X helm.sh/helm/v4/internal/version.version=$HELM"
}
