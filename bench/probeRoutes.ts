// The sanity probe before any measurement: a route is measured only once it answered 200 `ok` with
// its credential and (where it enforces auth) its refusal without one, so a fast 401/403 path can
// never pass for a fast filter. The mTLS route must also show Envoy's TLS handshake with Portcullis.
import { SCENARIOS } from "./benchScenarios.ts";
import { fetchText } from "./fetchText.ts";
import type { Scenario } from "./measureRound.ts";
import { readEnvoyClusterTls } from "./readEnvoyClusterTls.ts";
import { PORTCULLIS_MTLS_CLUSTER } from "./renderEnvoyConfig.ts";
import type { RunningEnvoy } from "./startEnvoy.ts";
import { BENCH_ROUTE_PATH } from "./startPortcullis.ts";

export interface RouteProbe {
  readonly envoy: RunningEnvoy;
  readonly headersFor: (s: Scenario) => Record<string, string>;
  /** Scenarios whose server did not start or was not built: no listener expected, no problem added. */
  readonly absent: ReadonlySet<Scenario>;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Scenario → the Envoy URL that passed its probe; every other route's reason is added to `problems`. */
export async function probeRoutes(probe: RouteProbe, problems: string[]): Promise<Map<Scenario, string>> {
  const urls = new Map<Scenario, string>();
  for (const s of SCENARIOS) {
    const port = probe.envoy.ports.get(s.listener);
    if (port === undefined) {
      if (!probe.absent.has(s.key)) problems.push(`envoy has no ${s.listener} listener`);
      continue;
    }
    const url = `http://127.0.0.1:${port}${BENCH_ROUTE_PATH}`;
    try {
      const withToken = await fetchText(url, probe.headersFor(s.key));
      if (withToken.status !== 200 || withToken.body !== "ok")
        throw new Error(`with the credential: ${withToken.status} ${withToken.body.slice(0, 200)}`);
      if (s.enforcesAuth) {
        const without = await fetchText(url);
        const denied = s.deniedStatus ?? 401;
        if (without.status !== denied)
          throw new Error(`without a credential: expected ${denied}, got ${without.status}`);
      }
      if (s.key === "portcullisMtls") {
        const tls = await readEnvoyClusterTls(probe.envoy.adminUrl, PORTCULLIS_MTLS_CLUSTER);
        if (tls.handshakes < 1 || tls.connectionErrors > 0)
          throw new Error(`Envoy's TLS to Portcullis: ${tls.handshakes} handshakes, ${tls.connectionErrors} errors`);
      }
      urls.set(s.key, url);
    } catch (err) {
      problems.push(`${s.label}: sanity probe failed, not measured: ${message(err)}`);
    }
  }
  return urls;
}
