#!/usr/bin/env bash
# Installs every pinned tool the tests need into .tools/ (git-ignored; TOOLS_DIR overrides): the
# Crossplane CLI and the CRDs it validates against, the test control plane, the node the
# end-to-end test runs pods on (kubelet, kube-proxy, kube-scheduler, containerd from Debian,
# CoreDNS, the sandbox binary), what runs there (Crossplane core, the providers, Helm), an OCI
# registry, and the inputs of the images built from them. Each is rebuilt only when its pin
# changes; a first run builds for a while on 2 cores and prints progress. It fails loudly, never
# skips, when something cannot be had.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS="${TOOLS_DIR:-$PWD/.tools}"
BIN="$TOOLS/bin"
mkdir -p "$BIN" "$TOOLS/build"
source test/tools/lib.sh
source test/tools/kubernetes.sh
source test/tools/node.sh
source test/tools/vcluster.sh

CROSSPLANE=v2.2.4
# provider-kubernetes v1.3.1 is the newest release whose go.mod builds with Go 1.26.
PROVIDER_HELM=v1.4.0
PROVIDER_KUBERNETES=v1.3.1
GO_CONTAINERREGISTRY=v0.21.6
KUBERNETES=v1.35.4 # matches Crossplane 2.2's Kubernetes libraries (v0.35.x)
STAGING=v0.35.4
ETCD=v3.6.16
COREDNS=v1.15.0
HELM=v4.2.3 # provider-helm v1.4.0's
PAUSE=3.10.1 # the Kubernetes module's build/pause
VCLUSTER=v0.30.0
KINE=v0.14.4 # what vcluster's own image carries

go_environment
debian_packages

xp=github.com/crossplane/crossplane/v2
copy_from_module "$xp@$CROSSPLANE" cluster/crds "crds/crossplane-$CROSSPLANE"
copy_from_module "$xp@$CROSSPLANE" cluster/webhookconfigurations "webhookconfigurations/crossplane-$CROSSPLANE"
# The Helm chart users install Crossplane with.
copy_from_module --tree "$xp@$CROSSPLANE" cluster/charts/crossplane "charts/crossplane-$CROSSPLANE"
copy_from_module --tree "github.com/loft-sh/vcluster@$VCLUSTER" chart "charts/vcluster-$VCLUSTER"
copy_from_module "github.com/crossplane-contrib/provider-helm@$PROVIDER_HELM" package/crds "crds/provider-helm-$PROVIDER_HELM"
copy_from_module "github.com/crossplane-contrib/provider-kubernetes@$PROVIDER_KUBERNETES" package/crds "crds/provider-kubernetes-$PROVIDER_KUBERNETES"
ln -sfn "crossplane-$CROSSPLANE" "$TOOLS/crds/crossplane"
ln -sfn "crossplane-$CROSSPLANE" "$TOOLS/webhookconfigurations/crossplane"
ln -sfn "provider-helm-$PROVIDER_HELM" "$TOOLS/crds/provider-helm"
ln -sfn "provider-kubernetes-$PROVIDER_KUBERNETES" "$TOOLS/crds/provider-kubernetes"
# `crank beta validate --cache-dir` reads Crossplane's own CRDs from here for
# --crossplane-image=xpkg.crossplane.io/crossplane/crossplane:<version>, so it never goes online.
copy_from_module "$xp@$CROSSPLANE" cluster/crds "validate-cache/xpkg.crossplane.io/crossplane/crossplane@$CROSSPLANE"

# Unstamped, Crossplane refuses every package ("Invalid Semantic Version").
stamp="-X $xp/internal/version.version=$CROSSPLANE"
go_install crank "$CROSSPLANE" "$xp/cmd/crank@$CROSSPLANE" -ldflags "$stamp"
go_install crossplane "$CROSSPLANE" "$xp/cmd/crossplane@$CROSSPLANE" -ldflags "$stamp"
go_install provider-helm "$PROVIDER_HELM" "github.com/crossplane-contrib/provider-helm/cmd/provider@$PROVIDER_HELM"
go_install provider-kubernetes "$PROVIDER_KUBERNETES" "github.com/crossplane-contrib/provider-kubernetes/cmd/provider@$PROVIDER_KUBERNETES"
go_install crane "$GO_CONTAINERREGISTRY" "github.com/google/go-containerregistry/cmd/crane@$GO_CONTAINERREGISTRY"
kubernetes_commands
etcd_command
coredns_command
helm_command
pause_command
vcluster_command
kine_command
bash package/image/inputs.sh "$TOOLS/image-inputs"
# The images the node runs, from the binaries above (test/controlplane/images.ts).
with_progress images node --import tsx test/controlplane/images.ts

# Every binary once more, in parallel: a broken one in the shared cache fails here, not in a test.
pids=()
smoke crank "Client Version: $CROSSPLANE" version --client & pids+=($!)
smoke crossplane "$CROSSPLANE" --version & pids+=($!)
smoke provider-helm "usage: provider" --help & pids+=($!)
smoke provider-kubernetes "usage: provider" --help & pids+=($!)
smoke crane "${GO_CONTAINERREGISTRY#v}" version & pids+=($!)
for name in "${KUBERNETES_COMMANDS[@]}"; do
  [ "$name" = kubectl ] && continue
  smoke "$name" "Kubernetes $KUBERNETES" --version & pids+=($!)
done
smoke kubectl "Client Version: $KUBERNETES" version --client & pids+=($!)
smoke etcd "etcd Version: ${ETCD#v}" --version & pids+=($!)
smoke coredns "CoreDNS-${COREDNS#v}" -version & pids+=($!)
smoke helm "$HELM" version --short & pids+=($!)
smoke pause "pause.c v$PAUSE" -v & pids+=($!)
smoke vcluster "vcluster version" --version & pids+=($!)
smoke kine "kine version ${KINE}" --version & pids+=($!)
smoke_path containerd "containerd 1.6." --version & pids+=($!)
smoke_path runc "runc version 1.1." --version & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
log "ready in $TOOLS: crank and crossplane $CROSSPLANE, provider-helm $PROVIDER_HELM," \
  "provider-kubernetes $PROVIDER_KUBERNETES, crane $GO_CONTAINERREGISTRY," \
  "${KUBERNETES_COMMANDS[*]} $KUBERNETES, etcd $ETCD, coredns $COREDNS, helm $HELM," \
  "pause $PAUSE, vcluster $VCLUSTER, kine $KINE, their CRDs and charts, the node's images," \
  "and Debian's ${DEBIAN_PACKAGES[*]}"
