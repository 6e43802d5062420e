// Envoy's own CPU per request under ext_authz filter options: one Envoy (one worker) with a
// listener per option set, all calling the same ext_authz server (the no-op grpc-go server by
// default, so the server's own cost stays out of Envoy's figure; --server portcullis for the real
// one), wrk with a browser-like request (16 headers, ~1.6 KB with cookies and a bearer token),
// variants alternating in short rounds (A B C… then …C B A). Envoy and the server on CPU 0, wrk on
// CPU 1 (when there are two). Reports Envoy's (and the server's) CPU µs per request from /proc and
// req/s, as medians and as the median of each round's ratio to the first variant.
// --rate N sends N req/s (open loop, bench/fixedRateLoad.ts) instead of wrk's saturation: Envoy's CPU
// per request then depends less on how busy the machine is (at saturation a contended Envoy handles
// fewer requests per wake-up, and each costs more). Bytes per Check are read from Envoy's stats.
// Run: node --disable-warning=ExperimentalWarning bench/envoyExtAuthzOptions.ts [--rounds 4] [--duration 3]
//   [--server noop-go|portcullis] [--variants shipped,allowed,...] [--rate 1000]
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { browserHeaders } from "./browserRequestHeaders.ts";
import { buildGoPeer, NOOP_GO_SERVER } from "./buildGoPeer.ts";
import { fetchText } from "./fetchText.ts";
import type { FixedRateResult, FixedRateSpec } from "./fixedRateLoad.ts";
import { runJsonChild } from "./runJsonChild.ts";
import { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { readProcessCpuSeconds } from "./readProcessCpuSeconds.ts";
import { benchAllowedHeaders, http2Only, listener, loopback, staticCluster } from "./renderEnvoyConfig.ts";
import { resolveEnvoyBinary } from "./resolveEnvoyBinary.ts";
import { runWrk } from "./runWrk.ts";
import { startEnvoy } from "./startEnvoy.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { startPortcullis } from "./startPortcullis.ts";

const arg = (name: string): string | undefined =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined;
const here = fileURLToPath(new URL("..", import.meta.url));
const rounds = Number(arg("--rounds") ?? 4);
const duration = Number(arg("--duration") ?? 3);
const connections = Number(arg("--connections") ?? 16);
const serverKind = arg("--server") ?? "noop-go";
const rate = arg("--rate") === undefined ? null : Number(arg("--rate"));
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type FilterConfig = Record<string, unknown>;

/** The ext_authz options every config shipped before this comparison set. */
function shippedFilter(cluster: string): FilterConfig {
  return {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
    transport_api_version: "V3",
    failure_mode_allow: false,
    status_on_error: { code: "ServiceUnavailable" },
    include_peer_certificate: false,
    grpc_service: { envoy_grpc: { cluster_name: cluster }, timeout: "1s" },
  };
}

interface Variant {
  readonly name: string;
  readonly filter: (cluster: string, allowed: object) => FilterConfig;
  /** The cluster's typed_extension_protocol_options etc., when the variant changes them. */
  readonly cluster?: object;
}

const VARIANTS: readonly Variant[] = [
  { name: "shipped", filter: (c) => shippedFilter(c) },
  { name: "allowed", filter: (c, allowed) => ({ ...shippedFilter(c), allowed_headers: allowed }) },
  { name: "raw", filter: (c) => ({ ...shippedFilter(c), encode_raw_headers: true }) },
  {
    name: "allowed+raw",
    filter: (c, allowed) => ({ ...shippedFilter(c), allowed_headers: allowed, encode_raw_headers: true }),
  },
  {
    name: "allowed+nostats",
    filter: (c, allowed) => ({ ...shippedFilter(c), allowed_headers: allowed, charge_cluster_response_stats: false }),
  },
  {
    name: "allowed+raw+nostats",
    filter: (c, allowed) => ({
      ...shippedFilter(c),
      allowed_headers: allowed,
      encode_raw_headers: true,
      charge_cluster_response_stats: false,
    }),
  },
  {
    name: "allowed+skip_envoy_headers",
    // envoy_grpc.skip_envoy_headers: no x-envoy-internal, x-forwarded-for, x-envoy-expected-rq-timeout-ms
    // on the Check call (Portcullis reads none of them; the deadline travels as grpc-timeout).
    filter: (c, allowed) => ({
      ...shippedFilter(c),
      allowed_headers: allowed,
      grpc_service: { envoy_grpc: { cluster_name: c, skip_envoy_headers: true }, timeout: "1s" },
    }),
  },
  { name: "clear_route_cache", filter: (c) => ({ ...shippedFilter(c), clear_route_cache: true }) },
  { name: "filter_state_stats", filter: (c) => ({ ...shippedFilter(c), emit_filter_state_stats: true }) },
  {
    name: "google_grpc",
    filter: (c, _allowed) => {
      const { grpc_service: _grpc, ...rest } = shippedFilter(c);
      return { ...rest, grpc_service: { google_grpc: { target_uri: "PLACEHOLDER", stat_prefix: c }, timeout: "1s" } };
    },
  },
  {
    name: "h2-windows",
    filter: (c) => shippedFilter(c),
    // Small flow-control windows instead of Envoy's 256 MiB default: the Check messages are small.
    cluster: {
      typed_extension_protocol_options: {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
          explicit_http_config: {
            http2_protocol_options: { initial_stream_window_size: 65536, initial_connection_window_size: 1048576 },
          },
        },
      },
    },
  },
];

function renderConfig(variants: readonly Variant[], upstreamPort: number, serverPort: number, allowed: object) {
  const listeners = [];
  const clusters: object[] = [staticCluster("upstream", upstreamPort)];
  for (const v of variants) {
    const cluster = clusterOf(v);
    const filter = v.filter(cluster, allowed);
    const grpc = filter["grpc_service"] as { google_grpc?: { target_uri: string } };
    if (grpc.google_grpc) grpc.google_grpc.target_uri = `127.0.0.1:${serverPort}`;
    listeners.push(listener(v.name, [{ name: "envoy.filters.http.ext_authz", typed_config: filter }]));
    clusters.push(staticCluster(cluster, serverPort, v.cluster ?? http2Only));
  }
  return JSON.stringify({ admin: { address: loopback(0) }, static_resources: { listeners, clusters } }, null, 2);
}

interface Row {
  readonly envoy: number[];
  readonly server: number[];
  readonly rps: number[];
  /** Bytes Envoy wrote to the ext_authz server per request (the Check with its gRPC and HTTP/2 framing). */
  readonly txBytes: number[];
}

const clusterOf = (v: Variant) => `authz_${v.name.replace(/\W/g, "_")}`;

/** A cluster's bytes written to its upstream so far, from Envoy's admin /stats: the same on a busy machine as on an idle one. */
async function clusterTxBytes(adminUrl: string, cluster: string): Promise<number> {
  const name = `cluster.${cluster}.upstream_cx_tx_bytes_total`;
  const { body } = await fetchText(`${adminUrl}/stats?filter=${encodeURIComponent(`^${name.replace(/\./g, "\\.")}$`)}`);
  const m = new RegExp(`^${name.replace(/\./g, "\\.")}: (\\d+)$`, "m").exec(body);
  if (!m) throw new Error(`Envoy has no ${name}`);
  return Number(m[1]);
}

/** One measured phase: wrk at saturation, or the fixed rate; requests completed and req/s. */
async function load(url: string, headers: Record<string, string>) {
  if (rate === null) return runWrk(group, "wrk", { url, headers, connections, durationSeconds: duration });
  const spec: FixedRateSpec = {
    url,
    headers,
    rate,
    warmupSeconds: 0,
    durationSeconds: duration,
    connections,
    timeoutMs: 2000,
  };
  const r = await runJsonChild<FixedRateResult>(
    group,
    "fixed-rate",
    join(here, "bench/fixedRateLoad.ts"),
    spec,
    (duration + 30) * 1000,
  );
  return { requests: r.completed, requestsPerSecond: r.achievedRate, non2xx: r.non2xx, socketErrors: r.errors };
}

const selected = arg("--variants")?.split(",");
const variants = selected ? VARIANTS.filter((v) => selected.includes(v.name)) : VARIANTS;
if (variants.length === 0) throw new Error(`--variants: none of ${VARIANTS.map((v) => v.name).join(", ")}`);
const pinning = cpus().length >= 2 ? { server: "0", load: "1", all: `0-${cpus().length - 1}` } : null;
const group = new ChildProcessGroup(pinning);
const workDir = mkdtempSync(join(tmpdir(), "portcullis-envoy-options-"));
const jwks = await startJwksServer();
try {
  const identity = await createBenchIdentity(jwks.issuer, "bench-api");
  jwks.setJwks(identity.jwks);
  const setup = { issuer: jwks.issuer, audience: "bench-api", sessionKey: randomBytes(32).toString("base64") };
  const allowed = { patterns: benchAllowedHeaders() };
  const portLine = (line: string) => {
    const m = /^\{"port":(\d+)\}$/.exec(line);
    return m ? Number(m[1]) : undefined;
  };
  let server: { pid: number | undefined; port: number };
  if (serverKind === "portcullis") {
    const p = await startPortcullis(group, resolve(here), mkdtempSync(join(workDir, "p-")), setup);
    server = { pid: p.pid, port: p.grpcPort };
  } else {
    const build = buildGoPeer(here, "noop-check-go", NOOP_GO_SERVER);
    if ("skipped" in build) throw new Error(`no-op grpc-go server: ${build.skipped} (or run with --server portcullis)`);
    const child = group.spawn("noop-check-go", build.bin, [], { role: "server" });
    server = { pid: child.process.pid, port: await child.waitForLine(portLine, 10_000) };
  }
  const upstream = group.spawn("upstream", process.execPath, [
    "--disable-warning=ExperimentalWarning",
    join(here, "bench/okUpstreamProcess.ts"),
  ]);
  const config = renderConfig(variants, await upstream.waitForLine(portLine, 10_000), server.port, allowed);
  const envoy = await startEnvoy(group, resolveEnvoyBinary(here), workDir, config);
  const headers = browserHeaders(identity.token);
  const bytes = Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  console.log(
    `server ${serverKind}; request: ${Object.keys(headers).length} headers besides Host, ${bytes} bytes; ` +
      `allowed_headers: ${allowed.patterns.map((p) => p.exact).join(", ")}`,
  );
  const results = new Map<string, Row>(variants.map((v) => [v.name, { envoy: [], server: [], rps: [], txBytes: [] }]));
  // One unmeasured pass warms every listener's connections and Envoy's caches.
  for (const v of variants) {
    const url = `http://127.0.0.1:${envoy.ports.get(v.name)}/bench`;
    await runWrk(group, "wrk", { url, headers, connections, durationSeconds: 1 });
  }
  for (let r = 0; r < rounds; r++) {
    for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
      const url = `http://127.0.0.1:${envoy.ports.get(v.name)}/bench`;
      const txBefore = await clusterTxBytes(envoy.adminUrl, clusterOf(v));
      const [envoyBefore, serverBefore] = [readProcessCpuSeconds(envoy.pid), readProcessCpuSeconds(server.pid)];
      const wrk = await load(url, headers);
      const [envoyAfter, serverAfter] = [readProcessCpuSeconds(envoy.pid), readProcessCpuSeconds(server.pid)];
      const txAfter = await clusterTxBytes(envoy.adminUrl, clusterOf(v));
      if (wrk.non2xx > 0 || wrk.socketErrors > 0) throw new Error(`${v.name}: ${JSON.stringify(wrk)}`);
      const row = results.get(v.name)!;
      row.envoy.push((((envoyAfter ?? 0) - (envoyBefore ?? 0)) / wrk.requests) * 1e6);
      row.server.push((((serverAfter ?? 0) - (serverBefore ?? 0)) / wrk.requests) * 1e6);
      row.rps.push(wrk.requestsPerSecond);
      row.txBytes.push((txAfter - txBefore) / wrk.requests);
      const cpu = `${row.envoy.at(-1)!.toFixed(1)} + ${row.server.at(-1)!.toFixed(1)} µs`;
      console.log(`round ${r + 1} ${v.name}: ${Math.round(wrk.requestsPerSecond)} req/s, Envoy + server CPU ${cpu}`);
    }
  }
  const base = results.get(variants[0]!.name)!;
  console.log(`\nmedians of ${rounds} rounds; ratios: median of each round's own ratio to ${variants[0]!.name}`);
  console.log(
    "| variant | req/s | Envoy CPU µs/req | server CPU µs/req | Envoy ratio | server ratio | bytes to ext_authz/req |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const [name, row] of results) {
    const ratio = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / ys[i]!)).toFixed(2);
    console.log(
      `| ${name} | ${Math.round(median(row.rps))} | ${median(row.envoy).toFixed(1)} | ${median(row.server).toFixed(1)} | ` +
        `${ratio(row.envoy, base.envoy)} | ${ratio(row.server, base.server)} | ${Math.round(median(row.txBytes))} |`,
    );
  }
} finally {
  await group.stopAll();
  await jwks.close();
  rmSync(workDir, { recursive: true, force: true });
}
