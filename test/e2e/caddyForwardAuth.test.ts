// A real Caddy (built from the Go module proxy by bin/test) with forward_auth in front of the echo
// upstream, configured by the shipped examples/caddy/Caddyfile, asking Portcullis's forward-auth
// endpoint in `proxy: caddy` mode: the behaviours every front proxy shows
// (test/harness/forwardAuthScenarios.ts: bearer tokens, header stripping, the 302 to the IdP, a
// whole browser login in Chromium, a client's own forwarded headers ignored), then Caddy's own:
// the example's request_header stripping and the endpoint refusing a peer outside trustedProxies.
// The example passes `caddy validate` as shipped.
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { createTempScope } from "../harness/createTempScope.ts";
import {
  describeBearerTokensThrough,
  describeBrowserLoginThrough,
  describeClientForwardingIgnored,
  describeIdentityHeadersStripped,
  describeLoginRedirectThrough,
  describeSteeringHeadersRemoved,
  upstreamRequestsFor,
  useForwardAuthStack,
} from "../harness/forwardAuthScenarios.ts";
import { describeTargetsServedAsDecided } from "../harness/describeTargetsServedAsDecided.ts";
import { validateCaddyfile } from "../harness/startCaddy.ts";
import { CADDY_EXAMPLE, startCaddyStack } from "../harness/startCaddyStack.ts";

// Caddy connects from 127.0.0.1; every other loopback address is a stranger.
const { stack, browser } = useForwardAuthStack(
  () => startCaddyStack({ proxy: "caddy", trustedProxies: ["127.0.0.1/32"] }),
  { browser: true },
);

describe("the shipped Caddyfile", () => {
  it("passes caddy validate as shipped, formatted as caddy fmt writes it", async () => {
    const scope = await createTempScope("portcullis-caddy-validate-");
    const result = validateCaddyfile(scope.dir, CADDY_EXAMPLE);
    await scope.close();
    expect(result.output).toContain("Valid configuration");
    expect(result.output).not.toContain("not formatted");
    expect(result.ok).toBe(true);
  });
});

describeBearerTokensThrough("caddy", stack);
describeIdentityHeadersStripped("caddy", stack);
describeLoginRedirectThrough("caddy", stack);
describeSteeringHeadersRemoved("caddy", stack);
describeTargetsServedAsDecided("caddy", stack);
describeBrowserLoginThrough("caddy", stack, browser);
describeClientForwardingIgnored("caddy", stack, {
  "x-forwarded-uri": "/public/ok",
  "x-forwarded-method": "GET",
  "x-forwarded-host": "other.example",
  "x-forwarded-proto": "http",
});

/** A request straight to Portcullis's forward-auth endpoint, from `localAddress`. */
function askEndpoint(localAddress: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: stack().authPort, path: "/oauth2/auth", localAddress, headers, agent: false },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error("forward-auth request timed out")));
    req.on("error", reject);
    req.end();
  });
}

describe("Caddy's own stripping and Portcullis's trusted proxies", () => {
  it("an x-user-* header Portcullis does not set (a claim header's name) is stripped by the example's request_header", async () => {
    const token = await stack().idp.clientCredentialsToken(["api.read"]);
    const forged = { "x-user-department": "finance", "x-user-is-admin": "true" };
    expect((await stack().request("/public/claims", { headers: forged })).status).toBe(200);
    const headers = { ...forged, authorization: `Bearer ${token}` };
    expect((await stack().request("/api/claims", { headers })).status).toBe(200);
    for (const path of ["/public/claims", "/api/claims"]) {
      const seen = upstreamRequestsFor(stack(), path).at(-1)?.headers ?? {};
      expect(seen["x-user-department"]).toBeUndefined();
      expect(seen["x-user-is-admin"]).toBeUndefined();
    }
  });

  it("forwarded headers from a peer outside trustedProxies are refused 403, from Caddy's address believed", async () => {
    const token = await stack().idp.mintUserToken("alice", ["api.read"]);
    const forged = {
      authorization: `Bearer ${token}`,
      "x-forwarded-method": "GET",
      "x-forwarded-uri": "/api/direct",
      "x-forwarded-host": `localhost:${stack().proxyPort}`,
      "x-forwarded-proto": "https",
    };
    const stranger = await askEndpoint("127.0.0.2", forged);
    expect(stranger.status).toBe(403);
    expect(JSON.parse(stranger.body)).toMatchObject({ error: "forward_auth_peer_untrusted" });
    expect(stranger.headers["x-user-sub"]).toBeUndefined();
    const proxy = await askEndpoint("127.0.0.1", forged);
    expect(proxy.status).toBe(200);
    expect(proxy.headers["x-user-sub"]).toBe("alice");
  });
});
