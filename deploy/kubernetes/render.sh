#!/usr/bin/env bash
# Renders the plain manifests in this folder from the Helm chart, for people without Helm:
#   deploy/kubernetes/render.sh            (uses $HELM_BIN, else helm on PATH; bin/test provisions one)
# Each file's header holds the exact `helm template` command; test/e2e/deployHelm.test.ts runs it
# and fails when a file differs from the chart's output.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HELM="${HELM_BIN:-helm}"
cd "$ROOT"

render() { # $1 = output file, $2 = what it is, rest = helm template arguments
  local out="$1" what="$2"; shift 2
  {
    echo "# Portcullis, $what: plain Kubernetes manifests rendered from the Helm chart with"
    echo "#   helm template $*"
    echo "# Do not edit: change deploy/helm/portcullis and run deploy/kubernetes/render.sh (a test fails on drift)."
    "$HELM" template "$@"
  } >"$out.tmp"
  mv "$out.tmp" "$out"
}

# The chart has no default config: both files carry the Keycloak example's, for you to edit.
VALUES=deploy/helm/portcullis/examples/values-keycloak.yaml
# --no-hooks: the pre-install/upgrade check-config Job is Helm's; with kubectl apply the pods' own
# check-config init container does the check.
# Central mode with TLS between Envoy and Portcullis (the Secret portcullis-tls: tls.crt, tls.key, ca.crt).
render deploy/kubernetes/central.yaml "central mode (a Service for your Envoy or Istio, TLS from the Secret portcullis-tls)" \
  portcullis deploy/helm/portcullis --namespace portcullis-system --no-hooks -f "$VALUES" --set tls.secretName=portcullis-tls
render deploy/kubernetes/sidecar.yaml "sidecar mode (Envoy and Portcullis in the app's pods; the sample app is traefik/whoami)" \
  shop deploy/helm/portcullis --namespace shop --no-hooks --set mode=sidecar -f "$VALUES"
