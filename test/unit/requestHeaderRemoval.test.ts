// Headers that steer an upstream (X-Forwarded-Host, X-Original-URL, X-HTTP-Method-Override, ...)
// are removed by Portcullis itself from every request it lets through, unless a route forwards
// them: through the Gate, in the ext_authz answer on the wire, and in the config's rules.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { PolicyConfig, RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { DEFAULT_REMOVED_REQUEST_HEADERS } from "../../src/config/removedRequestHeaders.ts";
import type { Gate, VerifyOutcome } from "../../src/core/Gate.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import { startGrpcServer, type GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { removalsOf } from "../harness/checkOutcome.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { openCheckClient, type CheckClient } from "../harness/grpcTestClients.ts";
import { PLAIN_IDENTITY } from "../harness/plainIdentityConfig.ts";

const identity = PLAIN_IDENTITY;
const OWNED = ["x-user-sub", "x-user-email", "x-user-roles", "x-user-context", "x-client-id"];
const claims = { sub: "alice", exp: 2_000_000_000 };
const good: VerifyOutcome = { ok: true, provider: "corp", claims, expiresAt: claims.exp };

const routes: RouteConfig[] = [
  { name: "open", match: { hosts: [], path: "/open" }, auth: "public", providers: [] },
  {
    name: "app",
    match: { hosts: [], path: "/app" },
    auth: "required",
    providers: [],
    forwardRequestHeaders: ["x-forwarded-prefix"],
  },
  { name: "maybe", match: { hosts: [], path: "/maybe" }, auth: "optional", providers: [] },
  { name: "api", match: { hosts: [], path: "/" }, auth: "required", providers: [] },
];

function gateWith(policy?: PolicyConfig): Gate {
  return gateOver({ routes, ...(policy !== undefined ? { policy } : {}), identity, tokens: { good } }).gate;
}

const STEERING = {
  "x-forwarded-host": "admin.example.com",
  "x-forwarded-prefix": "/admin",
  forwarded: "host=admin.example.com",
  "x-original-url": "/admin/users",
  "x-rewrite-url": "/admin/users",
  "x-http-method-override": "DELETE",
  "x-method-override": "DELETE",
  "x-http-method": "DELETE",
};

describe("request headers that steer the upstream, through the gate", () => {
  const gate = gateWith();

  it("removes every default steering header on a public route", async () => {
    const removed = removalsOf(await gate.decide(checkRequest("/open/x", STEERING)));
    for (const name of DEFAULT_REMOVED_REQUEST_HEADERS) expect(removed).toContain(name);
    for (const name of OWNED) expect(removed).toContain(name);
  });

  it("removes them on an authenticated request, alongside the identity headers, and never a header it sets", async () => {
    const d = await gate.decide(checkRequest("/api/x", { ...STEERING, authorization: "Bearer good" }));
    const removed = removalsOf(d);
    for (const name of DEFAULT_REMOVED_REQUEST_HEADERS) expect(removed).toContain(name);
    expect(removed).toContain("authorization");
    if (d.kind === "allow") for (const [name] of d.setHeaders) expect(removed).not.toContain(name);
  });

  it("removes them on an optional route passed anonymously", async () => {
    const removed = removalsOf(await gate.decide(checkRequest("/maybe", STEERING)));
    for (const name of DEFAULT_REMOVED_REQUEST_HEADERS) expect(removed).toContain(name);
  });

  it("lets through only the headers a route forwards, and still removes the rest there", async () => {
    const removed = removalsOf(
      await gate.decide(checkRequest("/app/x", { ...STEERING, authorization: "Bearer good" })),
    );
    expect(removed).not.toContain("x-forwarded-prefix");
    expect(removed).toContain("x-forwarded-host");
    expect(removed).toContain("x-http-method-override");
    // The same token on another route: its cached identity headers do not carry the first route's list.
    expect(
      removalsOf(
        await gate.decide(checkRequest("/api/x", { "x-forwarded-prefix": "/admin", authorization: "Bearer good" })),
      ),
    ).toContain("x-forwarded-prefix");
  });

  it("names only the steering headers the request carries, so the usual answer encodes nothing more", async () => {
    const plain = removalsOf(await gate.decide(checkRequest("/api/x", { authorization: "Bearer good" })));
    for (const name of DEFAULT_REMOVED_REQUEST_HEADERS) expect(plain).not.toContain(name);
    const one = removalsOf(
      await gate.decide(checkRequest("/api/x", { "x-original-url": "/admin", authorization: "Bearer good" })),
    );
    expect(one).toContain("x-original-url");
    expect(one.filter((name) => (DEFAULT_REMOVED_REQUEST_HEADERS as readonly string[]).includes(name))).toEqual([
      "x-original-url",
    ]);
    expect(removalsOf(await gate.decide(checkRequest("/open/x", { forwarded: "host=evil" })))).toContain("forwarded");
    expect(removalsOf(await gate.decide(checkRequest("/open/x")))).not.toContain("forwarded");
  });

  it("reuses one removal list per route and credential instead of building one per request", async () => {
    const first = removalsOf(await gate.decide(checkRequest("/api/a", { authorization: "Bearer good" })));
    const second = removalsOf(await gate.decide(checkRequest("/api/b", { authorization: "Bearer good" })));
    expect(second).toBe(first);
    expect(removalsOf(await gate.decide(checkRequest("/open/b")))).toBe(
      removalsOf(await gate.decide(checkRequest("/open/c"))),
    );
  });

  it("removes the configured list instead of the default one", async () => {
    const custom = gateWith({ mode: "rules", removeRequestHeaders: ["x-tenant-override"] });
    const removed = removalsOf(
      await custom.decide(checkRequest("/open/x", { ...STEERING, "x-tenant-override": "other" })),
    );
    expect(removed).toContain("x-tenant-override");
    expect(removed).not.toContain("x-forwarded-host");
    const none = removalsOf(
      await gateWith({ mode: "rules", removeRequestHeaders: [] }).decide(checkRequest("/open/x", STEERING)),
    );
    expect([...none].sort()).toEqual([...OWNED].sort());
  });

  it("never removes an identity header it sets, even when the list names one", async () => {
    const d = await gateWith({ mode: "rules", removeRequestHeaders: ["x-user-sub", "x-forwarded-host"] }).decide(
      checkRequest("/api/x", {
        "x-user-sub": "mallory",
        "x-forwarded-host": "evil.example",
        authorization: "Bearer good",
      }),
    );
    expect(d.kind === "allow" && d.setHeaders.some(([n]) => n === "x-user-sub")).toBe(true);
    expect(removalsOf(d)).not.toContain("x-user-sub");
    expect(removalsOf(d)).toContain("x-forwarded-host");
  });
});

describe("the ext_authz answer carries the removals", () => {
  let server: GrpcServer;
  let client: CheckClient;
  beforeAll(async () => {
    server = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      authorization: createExtAuthzHandlers(gateWith(), { checked() {} }),
      health: createHealthHandlers(new HealthState()),
    });
    client = openCheckClient(server.port);
  });
  afterAll(async () => {
    client.close();
    await server.shutdown(1000);
  });

  it("lists every steering header in ok_response.headers_to_remove", async () => {
    const res = await client.check("/open/x", STEERING);
    expect(res["http_response"]).toBe("ok_response");
    const removed: string[] = res["ok_response"]["headers_to_remove"];
    for (const name of DEFAULT_REMOVED_REQUEST_HEADERS) expect(removed).toContain(name);
  });
});

describe("config: policy.removeRequestHeaders and routes[].forwardRequestHeaders", () => {
  const base = (): Record<string, any> => ({
    providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
    routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
  });
  function problems(edit: (raw: Record<string, any>) => void): string[] {
    const raw = base();
    edit(raw);
    const result = parseConfig(raw);
    return result.ok ? [] : result.problems.map(formatIssue);
  }

  it("defaults to the steering headers and forwards none", () => {
    const result = parseConfig(base());
    if (!result.ok) throw new Error("expected a valid config");
    expect(result.config.policy.removeRequestHeaders).toEqual(DEFAULT_REMOVED_REQUEST_HEADERS);
    expect(result.config.routes[0]?.forwardRequestHeaders).toEqual([]);
  });

  it("accepts a route forwarding a header from the list, and an empty list", () => {
    expect(problems((r) => (r.routes[0].forwardRequestHeaders = ["x-forwarded-prefix"]))).toEqual([]);
    expect(problems((r) => (r.policy = { removeRequestHeaders: [] }))).toEqual([]);
  });

  const invalid: [string, (r: Record<string, any>) => void, RegExp][] = [
    [
      "a forwarded header the policy does not remove",
      (r) => (r.routes[0].forwardRequestHeaders = ["x-custom"]),
      /^routes\[0\]\.forwardRequestHeaders\[0\]: "x-custom" is not in policy\.removeRequestHeaders \(x-forwarded-host, .*\), so it already reaches the upstream; remove it here, or add it there/,
    ],
    [
      "an identity header in the list",
      (r) => (r.policy = { removeRequestHeaders: ["x-forwarded-host", "x-user-sub"] }),
      /^policy\.removeRequestHeaders\[1\]: "x-user-sub" is the identity header identity\.headers\.sub, which Portcullis sets and already removes from the client; take it off this list/,
    ],
    [
      "an upper-case name",
      (r) => (r.policy = { removeRequestHeaders: ["X-Forwarded-Host"] }),
      /^policy\.removeRequestHeaders\[0\]: must be lower-case \(write "x-forwarded-host"\)/,
    ],
    [
      "an upper-case name, without a second problem for a route forwarding another",
      (r) => {
        r.policy = { removeRequestHeaders: ["x-forwarded-host", "X-Original-URL"] };
        r.routes[0].forwardRequestHeaders = ["x-original-url"];
      },
      /^policy\.removeRequestHeaders\[1\]: must be lower-case/,
    ],
    [
      "host",
      (r) => (r.policy = { removeRequestHeaders: ["host"] }),
      /^policy\.removeRequestHeaders\[0\]: must not be host/,
    ],
    [
      "a pseudo-header",
      (r) => (r.policy = { removeRequestHeaders: [":authority"] }),
      /^policy\.removeRequestHeaders\[0\]: must not be a pseudo-header/,
    ],
    [
      "cookie",
      (r) => (r.routes[0].forwardRequestHeaders = ["cookie"]),
      /^routes\[0\]\.forwardRequestHeaders\[0\]: must not be cookie/,
    ],
    [
      "a name with a space",
      (r) => (r.policy = { removeRequestHeaders: ["x forwarded"] }),
      /^policy\.removeRequestHeaders\[0\]: must be an HTTP header name/,
    ],
  ];
  it.each(invalid)("refuses %s with its key path and a fix", (_name, edit, expected) => {
    const lines = problems(edit);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
  });
});
