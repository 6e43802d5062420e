// The demo's mTLS listener as rendered from envoy/demo.yaml: the https listener's copy, differing only
// in its name, port, statistics prefix, the client certificate it requires and verifies, and the
// certificate its ext_authz filter passes to Portcullis; the https listener itself is left as it is.

import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { renderEnvoyConfig } from "../../src/demo/startEnvoy.ts";

type Json = Record<string, any>;

const values = {
  adminPort: 0,
  listenAddress: "127.0.0.1",
  listenPort: 8443,
  tlsCertFile: "/demo/localhost.crt",
  tlsKeyFile: "/demo/localhost.key",
  extAuthzPort: 9191,
  authPort: 8181,
  upstreamPort: 9480,
  allowedHeaders: ["authorization", "cookie"],
};

const listeners = async (mtls?: { listenPort: number; clientCaFile: string }) =>
  (parse(await renderEnvoyConfig(mtls === undefined ? values : { ...values, mtls })) as Json)["static_resources"]
    .listeners as Json[];

const extAuthzOf = (listener: Json) =>
  (listener["filter_chains"][0].filters[0].typed_config.http_filters as Json[]).find(
    (f) => f["name"] === "envoy.filters.http.ext_authz",
  )!["typed_config"];

describe("the demo's mTLS listener", () => {
  it("is a copy of the https listener but for its name, port, client certificate and include_peer_certificate", async () => {
    const [https, mtls, ...others] = await listeners({ listenPort: 8444, clientCaFile: "/demo/mtls/ca.crt" });
    expect(others).toEqual([]);
    const expected = structuredClone(https) as Json;
    expected["name"] = "mtls";
    expected["address"].socket_address.port_value = 8444;
    const chain = expected["filter_chains"][0];
    chain.transport_socket.typed_config.require_client_certificate = true;
    chain.transport_socket.typed_config.common_tls_context.validation_context = {
      trusted_ca: { filename: "/demo/mtls/ca.crt" },
    };
    chain.filters[0].typed_config.stat_prefix = "ingress_mtls";
    extAuthzOf(expected)["include_peer_certificate"] = true;
    expect(mtls).toEqual(expected);
  });

  it("leaves the https listener as rendered without it, passing no certificate", async () => {
    const [plainHttps] = await listeners();
    const [https] = await listeners({ listenPort: 0, clientCaFile: "/demo/mtls/ca.crt" });
    expect(https).toEqual(plainHttps);
    expect(extAuthzOf(https!)["include_peer_certificate"]).toBe(false);
    expect(extAuthzOf(https!)["failure_mode_allow"]).toBe(false);
  });

  it("refuses a port that is not one", async () => {
    await expect(listeners({ listenPort: 70_000, clientCaFile: "/ca.crt" })).rejects.toThrow(/not a port/);
  });
});
