#!/usr/bin/env bash
# The local control plane: kube-apiserver + etcd + kube-controller-manager, built from Go modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
./node_modules/.bin/node test/cluster/cli.ts build
