// The benchmark's token streams and Envoy bootstrap: a first-seen or memory figure is only honest
// if every minted valid token verifies (and is distinct) and every invalid one fails only on its
// signature, and a peer's route must reach that peer.
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { createBenchIdentity } from "../../bench/createBenchIdentity.ts";
import { mintBenchTokens } from "../../bench/mintBenchTokens.ts";
import { LISTENER_NAMES, PORTCULLIS_MTLS_CLUSTER, renderEnvoyConfig } from "../../bench/renderEnvoyConfig.ts";
import { shippedUpstreamTls } from "../../bench/shippedUpstreamTls.ts";

const ISSUER = "http://127.0.0.1:9";

describe("mintBenchTokens", () => {
  it("mints distinct valid RS256 tokens that verify against the bench JWKS", async () => {
    const identity = await createBenchIdentity(ISSUER, "bench-api");
    const tokens = mintBenchTokens(identity, 5, { label: "t", valid: true });
    expect(new Set(tokens).size).toBe(5);
    const keys = createLocalJWKSet({ keys: [...identity.jwks.keys] });
    const subjects = new Set<string>();
    for (const token of tokens) {
      const { payload } = await jwtVerify(token, keys, {
        issuer: ISSUER,
        audience: "bench-api",
        algorithms: ["RS256"],
      });
      subjects.add(String(payload.sub));
    }
    expect(subjects.size).toBe(5);
  });

  it("mints invalid tokens with well-formed claims whose signature does not verify", async () => {
    const identity = await createBenchIdentity(ISSUER, "bench-api");
    const keys = createLocalJWKSet({ keys: [...identity.jwks.keys] });
    for (const token of mintBenchTokens(identity, 3, { label: "bad", valid: false })) {
      expect(decodeJwt(token)).toMatchObject({ iss: ISSUER, aud: "bench-api" });
      await expect(jwtVerify(token, keys)).rejects.toThrow(/signature verification failed/);
    }
  });
});

describe("renderEnvoyConfig", () => {
  const base = {
    upstreamPort: 1,
    noopCheckGrpcPort: 2,
    portcullisGrpcPort: 3,
    issuer: ISSUER,
    audience: "bench-api",
    jwks: { keys: [] },
  };
  const listenerNames = (config: string) =>
    (JSON.parse(config) as { static_resources: { listeners: { name: string }[] } }).static_resources.listeners.map(
      (l) => l.name,
    );

  it("adds the no-op grpc-go and oauth2-proxy routes only when those peers run", () => {
    expect(
      listenerNames(renderEnvoyConfig({ ...base, noopGoCheckGrpcPort: null, oauth2ProxyPort: null })),
    ).not.toContain(LISTENER_NAMES.noopGoExtAuthz);
    const both = renderEnvoyConfig({ ...base, noopGoCheckGrpcPort: 4, oauth2ProxyPort: 5 });
    expect(listenerNames(both)).toEqual(
      expect.arrayContaining([LISTENER_NAMES.noopGoExtAuthz, LISTENER_NAMES.oauth2Proxy]),
    );
    const clusters = (
      JSON.parse(both) as { static_resources: { clusters: { name: string; load_assignment: object }[] } }
    ).static_resources.clusters;
    expect(JSON.stringify(clusters.find((c) => c.name === "noop_go_check"))).toContain('"port_value":4');
    expect(JSON.stringify(clusters.find((c) => c.name === "oauth2_proxy"))).toContain('"port_value":5');
  });

  it("sends the mTLS route to its Portcullis with the shipped UpstreamTlsContext, only the files and name the run's", () => {
    const tls = {
      caFile: "/run/ca.crt",
      serverName: "localhost",
      certFile: "/run/envoy.crt",
      keyFile: "/run/envoy.key",
    };
    const config = JSON.parse(
      renderEnvoyConfig({
        ...base,
        noopGoCheckGrpcPort: null,
        oauth2ProxyPort: null,
        portcullisMtls: { grpcPort: 6, tls },
      }),
    ) as { static_resources: { listeners: { name: string }[]; clusters: Record<string, any>[] } };
    expect(config.static_resources.listeners.map((l) => l.name)).toContain(LISTENER_NAMES.extAuthzMtls);
    const cluster = config.static_resources.clusters.find((c) => c["name"] === PORTCULLIS_MTLS_CLUSTER)!;
    expect(JSON.stringify(cluster["load_assignment"])).toContain('"port_value":6');
    const context = cluster["transport_socket"].typed_config;
    expect(context["@type"]).toBe("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
    expect(context.sni).toBe("localhost");
    expect(context.common_tls_context).toEqual({
      alpn_protocols: ["h2"],
      tls_params: { tls_minimum_protocol_version: "TLSv1_2" },
      validation_context: {
        trusted_ca: { filename: "/run/ca.crt" },
        match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "localhost" } }],
      },
      tls_certificates: [
        { certificate_chain: { filename: "/run/envoy.crt" }, private_key: { filename: "/run/envoy.key" } },
      ],
    });
    // Without that Portcullis, no listener and no cluster.
    const plain = renderEnvoyConfig({ ...base, noopGoCheckGrpcPort: null, oauth2ProxyPort: null });
    expect(listenerNames(plain)).not.toContain(LISTENER_NAMES.extAuthzMtls);
    expect(plain).not.toContain(PORTCULLIS_MTLS_CLUSTER);
  });

  it("refuses to guess when the shipped cluster no longer has one SAN matcher and one client certificate", () => {
    const tls = { caFile: "/ca", serverName: "localhost", certFile: "/c", keyFile: "/k" };
    const withoutClientCertificate = `static_resources:
  clusters:
    - name: portcullis_ext_authz
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          common_tls_context:
            validation_context:
              match_typed_subject_alt_names: [{ san_type: DNS, matcher: { exact: portcullis } }]
`;
    expect(() => shippedUpstreamTls(tls, withoutClientCertificate)).toThrow(/one client certificate/);
  });
});
