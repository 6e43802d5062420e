// The HTTP forward-auth endpoint (nginx auth_request) on a running server: the same decision as the
// ext_authz Check from the forwarded method/URI/host/scheme, 200 with identity headers and the
// final credential headers, 401/403 with the Check's WWW-Authenticate and JSON, refused peers and
// refused forwarded headers, off by default. The AccessRequest is held to the Check decoder's.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import { reloadProblems } from "../../src/app/reloadProblems.ts";
import { workersConfigProblems } from "../../src/app/workersConfigProblems.ts";
import { readForwardAuthRequest, ForwardAuthRefused } from "../../src/transport/readForwardAuthRequest.ts";
import { toAccessRequest } from "../../src/transport/toAccessRequest.ts";
import { readMetric } from "../harness/readMetric.ts";
import { ask, started } from "./forwardAuthServer.ts";

const NAMES = {
  method: "x-original-method",
  uri: "x-original-uri",
  host: "x-forwarded-host",
  proto: "x-forwarded-proto",
};

const forwarded = (uri: string, extra: Record<string, string | string[]> = {}) => ({
  "x-original-method": "GET",
  "x-original-uri": uri,
  "x-forwarded-host": "app.example.com",
  "x-forwarded-proto": "https",
  ...extra,
});

describe("forward-auth answers", () => {
  it("allows a valid bearer token with 200, the identity headers and the owned headers to remove", async () => {
    const { server, token } = await started();
    const res = await ask(server, forwarded("/api/items?x=1", { authorization: `Bearer ${await token()}` }));
    expect(res.status).toBe(200);
    expect(res.headers["x-user-sub"]).toBe("user-1");
    expect(String(res.headers["x-auth-remove-headers"]).split(",")).toEqual(
      expect.arrayContaining(["x-user-email", "authorization"]),
    );
    // Authorization is stripped for the upstream: its final value is none.
    expect(res.headers["authorization"]).toBeUndefined();
    expect(
      await readMetric(await server.metrics.registry.metrics(), "portcullis_checks_total", {
        decision: "allow",
        reason: "authenticated",
        route: "api",
      }),
    ).toBe(1);
  });

  it("keeps a client's cookie as the upstream's final Cookie on a bearer request", async () => {
    const { server, token } = await started();
    const res = await ask(
      server,
      forwarded("/api", { authorization: `Bearer ${await token()}`, cookie: "theme=dark" }),
    );
    expect(res.status).toBe(200);
    expect(res.headers["cookie"]).toBe("theme=dark");
  });

  it("denies a missing token with the Check's 401, WWW-Authenticate and JSON body", async () => {
    const { server } = await started();
    const res = await ask(server, forwarded("/api"));
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="portcullis"/);
    expect(JSON.parse(res.body)).toMatchObject({ error: "token_missing" });
  });

  it("denies a token without the route's scope with 403 insufficient_scope", async () => {
    const { server, token } = await started();
    const res = await ask(server, forwarded("/admin", { authorization: `Bearer ${await token({ scope: "read" })}` }));
    expect(res.status).toBe(403);
    expect(res.headers["www-authenticate"]).toContain('error="insufficient_scope"');
  });

  it("decides on the normalised forwarded path, not on the subrequest's own path", async () => {
    const { server, token } = await started();
    // /%61dmin is /admin once normalised: the admin rule applies, not the public one.
    const res = await ask(server, forwarded("/%61dmin/x", { authorization: `Bearer ${await token()}` }));
    expect(res.status).toBe(403);
    expect((await ask(server, forwarded("/public/x"))).status).toBe(200);
  });

  // The proxy passes the target on as it came: Express routes /admin/../public/x to /admin while
  // the gate would decide /public/x; new URL("//admin/x", base) is /x; Go serves /public#/../admin
  // as /admin.
  it.each([
    ["a dot segment", "/admin/../public/x"],
    ["an escaped dot segment", "/admin/%2E%2e/public/x"],
    ["a '.' segment", "/public/./x"],
    ["an empty segment", "/public//x"],
    ["a leading '//'", "//public/x"],
    ["a fragment", "/public/x#/../../admin"],
  ])(
    "a forwarded URI with %s with 400 path_invalid, never deciding a path the upstream does not serve",
    async (_what, uri) => {
      const { server } = await started();
      const res = await ask(server, forwarded(uri));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: "path_invalid" });
    },
  );

  it("takes dots and '//' inside a segment or the query as they are", async () => {
    const { server } = await started();
    for (const uri of ["/public/a..b/.x/", "/public/x?next=//a/../b", "/public/%2e%2ex"]) {
      expect((await ask(server, forwarded(uri))).status, uri).toBe(200);
    }
  });

  it("refuses an invalid forwarded host as the Check does (host_invalid)", async () => {
    const { server } = await started();
    const res = await ask(server, forwarded("/public", { "x-forwarded-host": "a..b" }));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: "host_invalid" });
  });
});

describe("forward-auth refuses", () => {
  it("a peer outside trustedProxies with 403 forward_auth_peer_untrusted, before deciding", async () => {
    const { server, token, lines } = await started({ enabled: true, trustedProxies: ["10.0.0.0/8"] });
    const res = await ask(server, forwarded("/public", { authorization: `Bearer ${await token()}` }));
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: "forward_auth_peer_untrusted" });
    expect(res.headers["x-user-sub"]).toBeUndefined();
    expect(
      lines.some(
        (l) =>
          l["reason"] === "forward_auth_peer_untrusted" || JSON.stringify(l).includes("forward_auth_peer_untrusted"),
      ),
    ).toBe(true);
  });

  it.each([
    ["a missing forwarded URI", { "x-original-uri": undefined }],
    ["a forwarded URI given twice", { "x-original-uri": ["/public", "/admin"] }],
    ["an absolute-form URI", { "x-original-uri": "http://evil.example/public" }],
    ["a scheme that is not http or https", { "x-forwarded-proto": "gopher" }],
    ["a method with spaces", { "x-original-method": "GET /x" }],
  ])("%s with 403, never an allow", async (_what, change) => {
    const { server } = await started();
    const headers: Record<string, string | string[]> = forwarded("/public");
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    const res = await ask(server, headers);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: "forward_auth_peer_untrusted" });
  });

  it("is off by default: the path is the auth listener's 404", async () => {
    const { server } = await started(null);
    const res = await ask(server, forwarded("/public"));
    expect(res.status).toBe(404);
  });

  it("serves on the configured path and header names only", async () => {
    const { server } = await started({ enabled: true, path: "/authz", headers: { uri: "x-auth-uri" } });
    expect((await ask(server, forwarded("/public"), "/authz")).status).toBe(403);
    const res = await ask(server, { ...forwarded("/public"), "x-auth-uri": "/public" }, "/authz?x=1");
    expect(res.status).toBe(200);
  });
});

describe("Traefik's forwardAuth and Caddy's forward_auth conventions", () => {
  const traefikStyle = (uri: string, extra: Record<string, string> = {}) => ({
    "x-forwarded-method": "GET",
    "x-forwarded-uri": uri,
    "x-forwarded-host": "app.example.com",
    "x-forwarded-proto": "https",
    "x-forwarded-for": "203.0.113.9",
    ...extra,
  });

  it.each(["traefik", "caddy"])("%s: X-Forwarded-Method and X-Forwarded-Uri are the request decided", async (proxy) => {
    const { server, token } = await started({ enabled: true, proxy });
    const allowed = await ask(server, traefikStyle("/api/x", { authorization: `Bearer ${await token()}` }));
    expect(allowed.status).toBe(200);
    expect(allowed.headers["x-user-sub"]).toBe("user-1");
    expect((await ask(server, traefikStyle("/api/x"))).status).toBe(401);
    expect((await ask(server, traefikStyle("/public/x"))).status).toBe(200);
  });

  it("traefik: nginx's X-Original-URI is not read (only the convention's headers are)", async () => {
    const { server } = await started({ enabled: true, proxy: "traefik" });
    const res = await ask(server, traefikStyle("/api/x", { "x-original-uri": "/public/x" }));
    expect(res.status).toBe(401);
    // And without its own headers the request is refused, never decided on nginx's.
    const nginxOnly = await ask(server, forwarded("/public/x"));
    expect(nginxOnly.status).toBe(403);
  });

  it("traefik: a WebSocket upgrade's wss scheme is decided as https", async () => {
    const { server } = await started({ enabled: true, proxy: "traefik" });
    expect((await ask(server, traefikStyle("/public/ws", { "x-forwarded-proto": "wss" }))).status).toBe(200);
  });

  it("header names set under forwardAuth.headers win over the convention's", async () => {
    const { server } = await started({ enabled: true, proxy: "caddy", headers: { uri: "x-real-uri" } });
    expect((await ask(server, traefikStyle("/public/x"))).status).toBe(403);
    expect((await ask(server, traefikStyle("/api/x", { "x-real-uri": "/public/x" }))).status).toBe(200);
  });
});

describe("forward-auth on a dual-stack listener", () => {
  // A peer connecting over IPv4 to [::] shows as ::ffff:127.0.0.1: judged as the IPv4 address it is,
  // whichever way the block is written, and refused when no block names it.
  it.each([
    [["127.0.0.1/32"], 200],
    [["::ffff:127.0.0.0/104"], 200],
    [["10.0.0.0/8", "::1/128"], 403],
  ])("judges an IPv4-mapped peer against %j: %i", async (trustedProxies, status) => {
    const { server } = await started({ enabled: true, listen: "[::]:0", trustedProxies });
    const res = await ask(server, forwarded("/public/x"), "/oauth2/auth", server.ports.forwardAuth);
    expect(res.status).toBe(status);
  });
});

describe("forward-auth on a listener of its own", () => {
  it("answers its path there, 404 elsewhere, and no longer on the auth listener", async () => {
    const { server, token } = await started({ enabled: true, listen: "127.0.0.1:0" });
    const port = server.ports.forwardAuth;
    expect(port).not.toBe(0);
    expect(port).not.toBe(server.ports.auth);
    const allowed = await ask(
      server,
      forwarded("/api", { authorization: `Bearer ${await token()}` }),
      "/oauth2/auth",
      port,
    );
    expect(allowed.status).toBe(200);
    expect(allowed.headers["x-user-sub"]).toBe("user-1");
    expect((await ask(server, forwarded("/api"), "/oauth2/callback", port)).status).toBe(404);
    expect((await ask(server, forwarded("/public"))).status).toBe(404);
  });

  it("is not started, stopped or moved by a reload; the rest of forwardAuth may change", async () => {
    const { server } = await started({ enabled: true, listen: "127.0.0.1:0" });
    const running = server.config();
    const section = running.forwardAuth!;
    const off = { ...running, forwardAuth: { ...section, enabled: false } };
    const moved = { ...running, forwardAuth: { ...section, listen: { host: "127.0.0.1", port: 1 } } };
    const retuned = { ...running, forwardAuth: { ...section, trustedProxies: ["10.0.0.0/8"] } };
    expect((await server.reload(off)).result).toBe("invalid");
    expect(reloadProblems(running, off).map((p) => p.path)).toEqual(["forwardAuth.listen"]);
    expect(reloadProblems(running, moved).map((p) => p.path)).toEqual(["forwardAuth.listen"]);
    expect(reloadProblems(running, retuned)).toEqual([]);
  });
});

describe("forward-auth with serve --workers", () => {
  it("asks for a fixed port for the endpoint's own listener, and nothing on the auth listener", () => {
    const config = (forwardAuth: Record<string, unknown>) => {
      const parsed = parseConfig({ routes: [{ name: "all", match: { path: "/" }, auth: "public" }], forwardAuth });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      return parsed.config;
    };
    const paths = (forwardAuth: Record<string, unknown>) =>
      workersConfigProblems(config(forwardAuth), 4).map((p) => p.path);
    expect(paths({ enabled: true, listen: "127.0.0.1:0" })).toEqual(["forwardAuth.listen"]);
    expect(paths({ enabled: true, listen: "127.0.0.1:8282" })).toEqual([]);
    expect(paths({ enabled: true })).toEqual([]);
  });
});

describe("the AccessRequest a forward-auth request becomes", () => {
  it("is the Check decoder's for the same request", () => {
    const client = { authorization: "Bearer t", cookie: "a=1", accept: "text/html", "x-request-id": "r1" };
    const raw = Object.entries({
      host: "portcullis:8181",
      connection: "close",
      ...client,
      ...forwarded("/a/%2e%2e%62?q"),
    }).flat();
    const read = readForwardAuthRequest(raw, NAMES);
    const check = toAccessRequest({
      attributes: {
        request: {
          http: {
            id: "1",
            method: "GET",
            path: "/a/%2e%2e%62?q",
            host: "app.example.com",
            scheme: "https",
            headers: {
              ":authority": "app.example.com",
              ":method": "GET",
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

  it("joins a repeated client header with a comma, as Envoy's header map does", () => {
    const raw = [...Object.entries(forwarded("/")).flat(), "cookie", "a=1", "Cookie", "b=2"];
    const read = readForwardAuthRequest(raw, NAMES);
    expect(read).not.toBeInstanceOf(ForwardAuthRefused);
    expect((read as AccessRequest).headers.get("cookie")).toBe("a=1,b=2");
  });
});
