// forwardAuth.proxy envoy: the endpoint as Envoy's ext_authz http_service asks it. The original
// method and Host are the request's own and the original path follows the endpoint's (Envoy's
// path_prefix); an allow names the owned headers to remove in x-envoy-auth-headers-to-remove,
// never one it sets; what is not Envoy's shape is refused; the config refuses header names Envoy
// never sends. The AccessRequest is held to the Check decoder's.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { readEnvoyAuthRequest } from "../../src/transport/readForwardAuthRequest.ts";
import { toAccessRequest } from "../../src/transport/toAccessRequest.ts";
import { ask, started } from "./forwardAuthServer.ts";

const ENVOY = { enabled: true, proxy: "envoy" };
/** What Envoy's http_service sends besides the path: the Host, and the scheme the example sets. */
const envoyHeaders = (extra: Record<string, string> = {}) => ({
  host: "app.example.com",
  "x-forwarded-proto": "https",
  ...extra,
});

describe("Envoy's http_service on the forward-auth endpoint", () => {
  it("allows a bearer token for the path after the endpoint's, naming the owned headers to remove but none it sets", async () => {
    const { server, token } = await started(ENVOY);
    const res = await ask(
      server,
      envoyHeaders({ authorization: `Bearer ${await token()}` }),
      "/oauth2/auth/api/items?x=1",
    );
    expect(res.status).toBe(200);
    expect(res.headers["x-user-sub"]).toBe("user-1");
    const removed = String(res.headers["x-envoy-auth-headers-to-remove"]).split(",");
    expect(removed).toEqual(expect.arrayContaining(["x-user-email", "x-user-roles", "authorization"]));
    expect(removed).not.toContain("x-user-sub");
    // nginx's list and final credential values are not Envoy's: it removes by name.
    expect(res.headers["x-auth-remove-headers"]).toBeUndefined();
    expect(res.headers["authorization"]).toBeUndefined();
  });

  it("decides the request's own method, path and Host", async () => {
    const { server, token } = await started(ENVOY);
    expect((await ask(server, envoyHeaders(), "/oauth2/auth/public/x", undefined, "POST")).status).toBe(200);
    expect((await ask(server, envoyHeaders(), "/oauth2/auth/api/x")).status).toBe(401);
    // /%61dmin is /admin once normalised: the admin rule applies.
    const bearer = { authorization: `Bearer ${await token()}` };
    expect((await ask(server, envoyHeaders(bearer), "/oauth2/auth/%61dmin")).status).toBe(403);
    // An Envoy without normalize_path passes /admin/../public/x on as it is: refused, as behind nginx.
    const dots = await ask(server, envoyHeaders(), "/oauth2/auth/admin/../public/x");
    expect(JSON.parse(dots.body)).toMatchObject({ error: "path_invalid" });
    const badHost = await ask(server, envoyHeaders({ host: "a..b" }), "/oauth2/auth/public");
    expect(JSON.parse(badHost.body)).toMatchObject({ error: "host_invalid" });
  });

  it("denies a missing token with the Check's 401, WWW-Authenticate and JSON body", async () => {
    const { server } = await started(ENVOY);
    const res = await ask(server, envoyHeaders(), "/oauth2/auth/api");
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="portcullis"/);
    expect(JSON.parse(res.body)).toMatchObject({ error: "token_missing" });
  });

  it.each([
    ["the endpoint's path with no original path after it", "/oauth2/auth", envoyHeaders()],
    ["no scheme header", "/oauth2/auth/public", { host: "app.example.com" }],
    ["a scheme that is not http or https", "/oauth2/auth/public", envoyHeaders({ "x-forwarded-proto": "ftp" })],
  ])("refuses %s with 403 forward_auth_peer_untrusted", async (_what, path, headers) => {
    const { server } = await started(ENVOY);
    const res = await ask(server, headers, path);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: "forward_auth_peer_untrusted" });
  });

  it("refuses a peer outside trustedProxies before deciding", async () => {
    const { server, token } = await started({ ...ENVOY, trustedProxies: ["10.0.0.0/8"] });
    const res = await ask(server, envoyHeaders({ authorization: `Bearer ${await token()}` }), "/oauth2/auth/public");
    expect(res.status).toBe(403);
    expect(res.headers["x-user-sub"]).toBeUndefined();
  });

  it("serves the paths below the endpoint's only for envoy, and on a listener of its own too", async () => {
    const nginx = await started({ enabled: true });
    expect((await ask(nginx.server, envoyHeaders(), "/oauth2/auth/public")).status).toBe(404);
    const own = await started({ ...ENVOY, listen: "127.0.0.1:0" });
    const port = own.server.ports.forwardAuth;
    expect((await ask(own.server, envoyHeaders(), "/oauth2/auth/public", port)).status).toBe(200);
    expect((await ask(own.server, envoyHeaders(), "/oauth2/authx/public", port)).status).toBe(404);
  });
});

describe("the config with proxy: envoy", () => {
  it("refuses header names for the method, URI and host, which Envoy sends as the request's own", () => {
    const parsed = parseConfig({
      routes: [{ name: "all", match: { path: "/" }, auth: "public" }],
      forwardAuth: { ...ENVOY, headers: { method: "x-m", uri: "x-u", host: "x-h", proto: "x-scheme" } },
    });
    expect(parsed.ok).toBe(false);
    const paths = parsed.ok ? [] : parsed.problems.map((p) => p.path);
    expect(paths).toEqual(["forwardAuth.headers.method", "forwardAuth.headers.uri", "forwardAuth.headers.host"]);
  });

  it("reads the scheme from forwardAuth.headers.proto when set", async () => {
    const { server } = await started({ ...ENVOY, headers: { proto: "x-scheme" } });
    const path = "/oauth2/auth/public";
    expect((await ask(server, { host: "app.example.com", "x-scheme": "https" }, path)).status).toBe(200);
    expect((await ask(server, envoyHeaders(), path)).status).toBe(403);
  });
});

describe("the AccessRequest an Envoy http_service request becomes", () => {
  it("is the Check decoder's for the same request", () => {
    const client = { authorization: "Bearer t", cookie: "a=1", accept: "text/html", "x-request-id": "r1" };
    const raw = Object.entries({ host: "app.example.com", "x-forwarded-proto": "https", ...client }).flat();
    const read = readEnvoyAuthRequest("POST", "/oauth2/auth/a/%2e%2e%62?q", raw, {
      pathPrefix: "/oauth2/auth",
      proto: "x-forwarded-proto",
    });
    const check = toAccessRequest({
      attributes: {
        request: {
          http: {
            id: "1",
            method: "POST",
            path: "/a/%2e%2e%62?q",
            host: "app.example.com",
            scheme: "https",
            headers: {
              ":authority": "app.example.com",
              ":method": "POST",
              ":path": "/a/%2e%2e%62?q",
              ":scheme": "https",
              ...client,
            },
          },
        },
      },
    });
    expect(read).toEqual(check);
  });
});
