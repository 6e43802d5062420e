// The transport_socket of envoy/production-example.yaml's portcullis_ext_authz cluster (TLS to
// Portcullis's listen.tls: its certificate checked against a CA and a DNS SAN, Envoy's own client
// certificate presented), read from the shipped file so the bench measures the context we ship;
// only its file names and the name it checks (SNI and SAN) are the run's.
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export interface UpstreamTlsFiles {
  /** The CA that signed Portcullis's server certificate. */
  readonly caFile: string;
  /** The DNS name in Portcullis's certificate: sent as SNI and required as a SAN. */
  readonly serverName: string;
  /** Envoy's client certificate and key, for listen.tls.clientCaFile. */
  readonly certFile: string;
  readonly keyFile: string;
}

type Json = Record<string, any>;

const SHIPPED = new URL("../envoy/production-example.yaml", import.meta.url);
const CLUSTER = "portcullis_ext_authz";

/** Throws when the shipped file no longer has the shape this rewrites (one SAN matcher, one certificate). */
export function shippedUpstreamTls(files: UpstreamTlsFiles, shippedYaml = readFileSync(SHIPPED, "utf8")): object {
  const clusters = (parse(shippedYaml) as Json)["static_resources"]?.clusters as Json[] | undefined;
  const socket = clusters?.find((c) => c["name"] === CLUSTER)?.["transport_socket"] as Json | undefined;
  const context = socket?.["typed_config"] as Json | undefined;
  const common = context?.["common_tls_context"] as Json | undefined;
  const sans = common?.["validation_context"]?.match_typed_subject_alt_names as Json[] | undefined;
  const certificates = common?.["tls_certificates"] as Json[] | undefined;
  if (context === undefined || sans?.length !== 1 || certificates?.length !== 1)
    throw new Error(
      `envoy/production-example.yaml: cluster ${CLUSTER} has no UpstreamTlsContext with one SAN matcher and one client certificate`,
    );
  context["sni"] = files.serverName;
  common!["validation_context"].trusted_ca = { filename: files.caFile };
  sans[0]!["matcher"] = { exact: files.serverName };
  certificates[0] = {
    certificate_chain: { filename: files.certFile },
    private_key: { filename: files.keyFile },
  };
  return socket!;
}
