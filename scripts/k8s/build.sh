#!/usr/bin/env bash
# Builds the local Kubernetes control plane used by the tests and `npm run k8s:up` — kube-apiserver,
# kube-controller-manager, kube-scheduler (v1.37.2), etcd (v3.7.0), kwok (v0.8.0) — and the S3-compatible
# store (versitygw v1.8.0), helm (v3.22.0) and kustomize (v5.7.1), from the Go module proxy into a git-ignored cache. Idempotent: a binary that is
# there is not built again. The recipe and its timings: ARCHITECTURE.md, "Kubernetes".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${MLR_K8S_CACHE:-$ROOT/.cache/k8s}"
BIN="$CACHE/bin"
K8S=v1.37.2
mkdir -p "$BIN"
# Go's own installer puts it in /usr/local/go, which an ordinary user's PATH often lacks.
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "[k8s-build] Go is needed (1.25 or later): install it and put it on PATH" >&2; exit 1; }
export GOFLAGS=-mod=mod CGO_ENABLED=0
have() { [ -x "$BIN/$1" ]; }

if ! have versitygw; then
  echo "[k8s-build] versitygw"
  GOBIN="$BIN" go install -trimpath -ldflags='-s -w' github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
if ! have helm; then
  echo "[k8s-build] helm"
  GOBIN="$BIN" go install -trimpath -ldflags='-s -w' helm.sh/helm/v3/cmd/helm@v3.22.0
fi
if ! have kustomize; then
  echo "[k8s-build] kustomize"
  GOBIN="$BIN" go install -trimpath -ldflags='-s -w' sigs.k8s.io/kustomize/kustomize/v5@v5.7.1
fi
if ! have kwok; then
  echo "[k8s-build] kwok"
  GOBIN="$BIN" go install -trimpath -ldflags='-s -w' sigs.k8s.io/kwok/cmd/kwok@v0.8.0
fi
if ! have kube-apiserver || ! have kube-controller-manager || ! have kube-scheduler || ! have etcd; then
  echo "[k8s-build] kube-apiserver, kube-controller-manager, kube-scheduler, etcd ($K8S; minutes when cold)"
  W="$CACHE/wrapper"
  mkdir -p "$W/cmd/etcd"
  cd "$W"
  cat > go.mod <<MOD
module mlr-copilot/k8s-wrapper

go 1.26.0

require k8s.io/kubernetes $K8S
MOD
  cat > cmd/etcd/main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  go mod download -json "k8s.io/kubernetes@$K8S" > /dev/null
  MODFILE="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S.mod"
  MINOR="${K8S#v1.}"; MINOR="${MINOR%%.*}"; PATCH="${K8S##*.}"
  grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging/' "$MODFILE" | awk '{print $1}' | sort -u |
    grep -vE '^k8s.io/(sample-cli-plugin|sample-controller)$' |
    while read -r m; do echo "replace $m => $m v0.$MINOR.$PATCH"; done >> go.mod
  go mod tidy > /dev/null 2>&1 || go mod tidy
  V="-X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1"
  V="$V -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/client-go/pkg/version.gitVersion=$K8S"
  V="$V -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$MINOR"
  go build -trimpath -ldflags "-s -w $V" -o "$BIN/" ./cmd/etcd k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
fi
# kwok's stage definitions ship in its module source; keep the ones the plane uses beside the binaries.
if [ ! -d "$CACHE/stages" ]; then
  SRC="$(go env GOMODCACHE)/sigs.k8s.io/kwok@v0.8.0/kustomize/stage"
  [ -d "$SRC" ] || (cd "$CACHE" && GOFLAGS= go mod download -json sigs.k8s.io/kwok@v0.8.0 > /dev/null)
  mkdir -p "$CACHE/stages.tmp"
  cp -r "$SRC"/. "$CACHE/stages.tmp/"
  chmod -R u+w "$CACHE/stages.tmp"
  mv "$CACHE/stages.tmp" "$CACHE/stages"
fi
echo "[k8s-build] ready in $BIN"
