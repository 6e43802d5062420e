// bench/workerScaling.ts --envoy: the `--workers 2` server behind one Envoy (--concurrency 1), wrk
// with a cached bearer token, two ext_authz listeners to the same server that differ only in the
// cluster's HTTP/2 settings: Envoy's defaults (one connection: every check on one worker), and
// http2_protocol_options.max_concurrent_streams (Envoy opens another connection whenever that many
// checks are in flight on each, so SO_REUSEPORT can hand them to both workers). Reports req/s and
// the checks each worker answered, per variant.
import { join } from "node:path";
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { LISTENER_NAMES, renderEnvoyConfig } from "./renderEnvoyConfig.ts";
import { resolveEnvoyBinary } from "./resolveEnvoyBinary.ts";
import { runWrk } from "./runWrk.ts";
import { startEnvoy } from "./startEnvoy.ts";

export interface EnvoyVariantsInput {
  readonly root: string;
  readonly workDir: string;
  readonly grpcPort: number;
  readonly adminPort: number;
  readonly token: string;
  readonly issuer: string;
  readonly jwks: object;
  readonly rounds: number;
  readonly duration: number;
  readonly connections: number;
  /** The capped variant's max_concurrent_streams. */
  readonly streamsPerConnection: number;
}

async function perWorkerChecks(adminPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return new Map(
    [...text.matchAll(/^portcullis_worker_checks\{worker="(\d+)"\} (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]),
  );
}

/** The bench Envoy config, its no-op listener's cluster pointed at the same server with a stream cap per connection. */
function configWithCap(input: EnvoyVariantsInput, upstreamPort: number): string {
  const config = JSON.parse(
    renderEnvoyConfig({
      upstreamPort,
      noopCheckGrpcPort: input.grpcPort,
      noopGoCheckGrpcPort: null,
      oauth2ProxyPort: null,
      portcullisGrpcPort: input.grpcPort,
      issuer: input.issuer,
      audience: "bench-api",
      jwks: input.jwks,
    }),
  ) as { static_resources: { clusters: Array<Record<string, any>> } };
  const capped = config.static_resources.clusters.find((c) => c["name"] === "noop_check")!;
  capped["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"][
    "explicit_http_config"
  ] = { http2_protocol_options: { max_concurrent_streams: input.streamsPerConnection } };
  return JSON.stringify(config);
}

export async function measureThroughEnvoy(group: ChildProcessGroup, input: EnvoyVariantsInput): Promise<void> {
  const upstream = group.spawn("upstream", process.execPath, [
    "--disable-warning=ExperimentalWarning",
    join(input.root, "bench/okUpstreamProcess.ts"),
  ]);
  const upstreamPort = await upstream.waitForLine((line) => {
    const m = /^\{"port":(\d+)\}$/.exec(line);
    return m ? Number(m[1]) : undefined;
  }, 10_000);
  const envoy = await startEnvoy(
    group,
    resolveEnvoyBinary(input.root),
    input.workDir,
    configWithCap(input, upstreamPort),
  );
  const variants = [
    { name: "Envoy's defaults (one HTTP/2 connection)", listener: LISTENER_NAMES.extAuthz },
    { name: `max_concurrent_streams ${input.streamsPerConnection}`, listener: LISTENER_NAMES.noopExtAuthz },
  ];
  for (let r = 0; r < input.rounds; r++) {
    for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
      const before = await perWorkerChecks(input.adminPort);
      const wrk = await runWrk(group, "wrk", {
        url: `http://127.0.0.1:${envoy.ports.get(v.listener)}/bench`,
        headers: { authorization: `Bearer ${input.token}` },
        connections: input.connections,
        durationSeconds: input.duration,
      });
      if (wrk.non2xx > 0 || wrk.socketErrors > 0) throw new Error(`${v.name}: ${JSON.stringify(wrk)}`);
      const after = await perWorkerChecks(input.adminPort);
      const split = [...after].map(([id, n]) => `worker ${id}: ${n - (before.get(id) ?? 0)}`).join(", ");
      console.log(`envoy round ${r + 1}, ${v.name}: ${Math.round(wrk.requestsPerSecond)} req/s; ${split}`);
    }
  }
}
