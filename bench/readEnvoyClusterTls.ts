// Envoy's own count of TLS handshakes, connections and requests on one cluster (its admin /stats):
// proof that a route really went over TLS, and how often the handshake was paid against how many
// Check calls rode on those connections (HTTP/2 reuses one connection for every call).
import { fetchText } from "./fetchText.ts";

export interface ClusterTlsCounters {
  /** cluster.<name>.ssl.handshake: completed TLS handshakes. */
  readonly handshakes: number;
  /** cluster.<name>.ssl.connection_error: handshakes or TLS connections that failed. */
  readonly connectionErrors: number;
  readonly connections: number;
  readonly requests: number;
}

interface StatsJson {
  stats?: { name?: string; value?: number }[];
}

export async function readEnvoyClusterTls(adminUrl: string, cluster: string): Promise<ClusterTlsCounters> {
  const filter = `^cluster\\.${cluster}\\.(ssl\\.handshake|ssl\\.connection_error|upstream_cx_total|upstream_rq_total)$`;
  const { status, body } = await fetchText(`${adminUrl}/stats?format=json&filter=${encodeURIComponent(filter)}`);
  if (status !== 200) throw new Error(`envoy /stats answered ${status}`);
  const values = new Map((JSON.parse(body) as StatsJson).stats?.map((s) => [s.name, s.value]) ?? []);
  const read = (stat: string) => {
    const value = values.get(`cluster.${cluster}.${stat}`);
    if (typeof value !== "number") throw new Error(`envoy /stats has no cluster.${cluster}.${stat}`);
    return value;
  };
  return {
    handshakes: read("ssl.handshake"),
    connectionErrors: read("ssl.connection_error"),
    connections: read("upstream_cx_total"),
    requests: read("upstream_rq_total"),
  };
}
