#!/usr/bin/env bash
# helm, for the chart tests (helm template / helm lint): built from the Go module proxy at an exact version
# into .cache/bin/helm, reusing Go's module and build caches. Idempotent: does nothing when that build is there.
set -euo pipefail
cd "$(dirname "$0")/../.."
HELM_VERSION=v3.22.0
# What helm's Makefile stamps from its client-go (v0.37): the Kubernetes version `helm template` and
# `helm lint` assume. Unstamped, a `go install` build assumes 1.20 and refuses charts needing newer.
K8S_MAJOR=1
K8S_MINOR=37
BIN_DIR="$PWD/.cache/bin"
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
LDFLAGS+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$K8S_MAJOR -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$K8S_MINOR"
LDFLAGS+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$K8S_MAJOR -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR"
STAMP="$BIN_DIR/.helm-build"
if [ -x "$BIN_DIR/helm" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$LDFLAGS" ]; then
  echo "helm $HELM_VERSION already in $BIN_DIR"
  exit 0
fi
mkdir -p "$BIN_DIR"
GOBIN="$BIN_DIR" CGO_ENABLED=0 go install -trimpath -ldflags "$LDFLAGS" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
printf '%s' "$LDFLAGS" > "$STAMP"
"$BIN_DIR/helm" version --short
