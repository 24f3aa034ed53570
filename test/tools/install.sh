#!/usr/bin/env bash
# Installs every pinned tool the tests need into .tools/ (git-ignored; TOOLS_DIR overrides): the
# Crossplane CLI and the CRDs it validates against, the test control plane, and what the
# end-to-end test runs (Crossplane core, the providers, an OCI registry). Each is rebuilt only when
# its pin changes; a first run builds for a while on 2 cores and prints progress. It fails loudly,
# never skips, when something cannot be had.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS="${TOOLS_DIR:-$PWD/.tools}"
BIN="$TOOLS/bin"
mkdir -p "$BIN" "$TOOLS/build"
source test/tools/lib.sh
source test/tools/kubernetes.sh

CROSSPLANE=v2.2.4
# provider-kubernetes v1.3.1 is the newest release whose go.mod builds with Go 1.26.
PROVIDER_HELM=v1.4.0
PROVIDER_KUBERNETES=v1.3.1
GO_CONTAINERREGISTRY=v0.21.6
KUBERNETES=v1.35.4 # matches Crossplane 2.2's Kubernetes libraries (v0.35.x)
STAGING=v0.35.4
ETCD=v3.6.16

go_environment

xp=github.com/crossplane/crossplane/v2
copy_from_module "$xp@$CROSSPLANE" cluster/crds "crds/crossplane-$CROSSPLANE"
copy_from_module "$xp@$CROSSPLANE" cluster/webhookconfigurations "webhookconfigurations/crossplane-$CROSSPLANE"
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
go_install registry "$GO_CONTAINERREGISTRY" "github.com/google/go-containerregistry/cmd/registry@$GO_CONTAINERREGISTRY"
go_install crane "$GO_CONTAINERREGISTRY" "github.com/google/go-containerregistry/cmd/crane@$GO_CONTAINERREGISTRY"
kubernetes_command kube-apiserver
# Its garbage collector carries out deletions Crossplane leaves to ownerReferences.
kubernetes_command kube-controller-manager
etcd_command

# Every binary once more, in parallel: a broken one in the shared cache fails here, not in a test.
pids=()
smoke crank "Client Version: $CROSSPLANE" version --client & pids+=($!)
smoke crossplane "$CROSSPLANE" --version & pids+=($!)
smoke provider-helm "usage: provider" --help & pids+=($!)
smoke provider-kubernetes "usage: provider" --help & pids+=($!)
smoke registry "port to run registry on" --help & pids+=($!)
smoke crane "${GO_CONTAINERREGISTRY#v}" version & pids+=($!)
smoke kube-apiserver "Kubernetes $KUBERNETES" --version & pids+=($!)
smoke kube-controller-manager "Kubernetes $KUBERNETES" --version & pids+=($!)
smoke etcd "etcd Version: ${ETCD#v}" --version & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
log "ready in $TOOLS: crank and crossplane $CROSSPLANE, provider-helm $PROVIDER_HELM," \
  "provider-kubernetes $PROVIDER_KUBERNETES, registry and crane $GO_CONTAINERREGISTRY," \
  "kube-apiserver and kube-controller-manager $KUBERNETES, etcd $ETCD, their CRDs"
