#!/usr/bin/env bash
# Packages the Helm chart for a release: deploy/helm/package.sh DEST_DIR prints the path of
# DEST_DIR/portcullis-<version>.tgz, ready for `helm push ... oci://<registry>/<path>`.
# Refuses unless Chart.yaml's version and appVersion are package.json's (one version per release),
# and lints the chart and the packaged archive with --strict on the Keycloak example's values.
# Uses $HELM_BIN, else helm on PATH (bin/test provisions one).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HELM="${HELM_BIN:-helm}"
CHART="$ROOT/deploy/helm/portcullis"
VALUES="$CHART/examples/values-keycloak.yaml"
[ "$#" = 1 ] || { echo "usage: deploy/helm/package.sh DEST_DIR" >&2; exit 2; }
DEST="$1"

version="$(sed -n 's/^  "version": "\([^"]*\)",$/\1/p' "$ROOT/package.json")"
chart_version="$(sed -n 's/^version: *\([^ ]*\)$/\1/p' "$CHART/Chart.yaml")"
app_version="$(sed -n 's/^appVersion: *"\{0,1\}\([^" ]*\)"\{0,1\}$/\1/p' "$CHART/Chart.yaml")"
if [ -z "$version" ] || [ "$chart_version" != "$version" ] || [ "$app_version" != "$version" ]; then
  echo "deploy/helm/package.sh: Chart.yaml version ($chart_version) and appVersion ($app_version) must both be package.json's version ($version)" >&2
  exit 1
fi
# OCI tags may not hold "+": a version with build metadata could not be pushed as itself.
case "$version" in *+*) echo "deploy/helm/package.sh: version $version has build metadata, which an OCI tag cannot hold" >&2; exit 1 ;; esac

mkdir -p "$DEST"
"$HELM" lint --strict --quiet "$CHART" -f "$VALUES" >&2
"$HELM" package "$CHART" --destination "$DEST" >&2
archive="$DEST/portcullis-$version.tgz"
[ -f "$archive" ] || { echo "deploy/helm/package.sh: helm package did not write $archive" >&2; exit 1; }
"$HELM" lint --strict --quiet "$archive" -f "$VALUES" >&2
echo "$archive"
