// The benchmark's token streams and Envoy bootstrap: a first-seen or memory figure is only honest
// if every minted valid token verifies (and is distinct) and every invalid one fails only on its
// signature, and a peer's route must reach that peer.
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { createBenchIdentity } from "../../bench/createBenchIdentity.ts";
import { mintBenchTokens } from "../../bench/mintBenchTokens.ts";
import { LISTENER_NAMES, renderEnvoyConfig } from "../../bench/renderEnvoyConfig.ts";

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
});
