// The pinned Envoy with ext_authz over HTTP (http_service) in front of the echo upstream,
// configured by the shipped envoy/envoy-http-ext-authz.yaml, asking Portcullis's forward-auth
// endpoint in `proxy: envoy` mode: the behaviours every front proxy shows
// (test/harness/forwardAuthScenarios.ts: bearer tokens allowed with their identity at the upstream
// and denied with Portcullis's challenge at the client, identity headers a client sends removed by
// x-envoy-auth-headers-to-remove, the 302 to the IdP, a whole browser login in Chromium), then
// Envoy's own: the original method decided, the endpoint unreachable through the /oauth2/ route.
import { describe, expect, it } from "vitest";
import {
  describeBearerTokensThrough,
  describeBrowserLoginThrough,
  describeIdentityHeadersStripped,
  describeLoginRedirectThrough,
  describeSteeringHeadersRemoved,
  ENDPOINT_SPELLINGS,
  expectNotTheEndpoint,
  upstreamRequestsFor,
  useForwardAuthStack,
} from "../harness/forwardAuthScenarios.ts";
import { describeTargetsServedAsDecided } from "../harness/describeTargetsServedAsDecided.ts";
import { startEnvoyHttpStack } from "../harness/startEnvoyHttpStack.ts";

const { stack, browser } = useForwardAuthStack(() => startEnvoyHttpStack(), { browser: true });

describeBearerTokensThrough("envoy-http", stack);
describeIdentityHeadersStripped("envoy-http", stack);
describeLoginRedirectThrough("envoy-http", stack);
describeSteeringHeadersRemoved("envoy-http", stack);
describeTargetsServedAsDecided("envoy-http", stack);
describeBrowserLoginThrough("envoy-http", stack, browser);

describe("what Envoy's http_service carries", () => {
  it("the original method: a POST is decided as a POST and reaches the upstream as one", async () => {
    const token = await stack().idp.clientCredentialsToken(["api.read"]);
    const res = await stack().request("/api/post", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    });
    expect(res.status).toBe(200);
    const seen = upstreamRequestsFor(stack(), "/api/post").at(-1);
    expect(seen?.method).toBe("POST");
    expect(seen?.headers["x-client-id"]).toBe("demo-cli");
    // Envoy takes Portcullis's list of removals for itself; it is never passed on.
    expect(seen?.headers["x-envoy-auth-headers-to-remove"]).toBeUndefined();
  });

  it("a refused answer's JSON body and content type reach the client", async () => {
    const res = await stack().request("/api/body");
    expect(res.status).toBe(401);
    expect(String(res.headers["content-type"])).toContain("application/json");
    expect(res.json).toMatchObject({ error: "token_missing" });
  });

  it("the forward-auth endpoint is not reachable through the /oauth2/ route, however it is spelled", async () => {
    const token = await stack().idp.clientCredentialsToken(["api.read"]);
    for (const path of [...ENDPOINT_SPELLINGS, "/oauth2/auth/api/x", "/oauth2/auth/api/../public/x"]) {
      const res = await stack().request(path, { headers: { authorization: `Bearer ${token}` } });
      expectNotTheEndpoint(stack(), path, res);
      expect(res.headers["x-user-sub"], path).toBeUndefined();
      expect(res.headers["x-client-id"], path).toBeUndefined();
    }
  });
});
