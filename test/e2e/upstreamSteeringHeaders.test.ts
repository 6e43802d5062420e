// Nothing else steers the upstream, through the real Envoy to the echo upstream, each layer on its own:
// - Portcullis alone: the shipped Envoy config with its own `request_headers_to_remove` taken out,
//   so whatever the upstream does not get was removed by Portcullis's ext_authz answer
//   (policy.removeRequestHeaders, a route's forwardRequestHeaders, a header only our config names).
// - Envoy alone: the shipped Envoy config with Portcullis told to remove nothing.
// - Two HTTP/1.1 Cookie headers (Envoy joins them with ","): the session cookie never reaches the
//   upstream, the other cookies do.

import { randomUUID } from "node:crypto";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_REMOVED_REQUEST_HEADERS } from "../../src/config/removedRequestHeaders.ts";
import { startStack, type Stack } from "../harness/startStack.ts";

const ENVOY_REMOVAL = /^\s*request_headers_to_remove:.*\n/m;

const STEERING: Record<string, string> = {
  "x-forwarded-host": "admin.example.com",
  "x-forwarded-prefix": "/admin",
  forwarded: "host=admin.example.com;proto=https",
  "x-original-url": "/admin/users",
  "x-rewrite-url": "/admin/users",
  "x-http-method-override": "DELETE",
  "x-method-override": "DELETE",
  "x-http-method": "DELETE",
};

const ROUTES = [
  { name: "public", match: { path: "/public" }, auth: "public" },
  { name: "prefixed", match: { path: "/prefixed" }, auth: "public", forwardRequestHeaders: ["x-forwarded-prefix"] },
  { name: "api", match: { path: "/api" }, auth: "required" },
];

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** What the upstream received for one request through Envoy (found by a marker header). */
async function upstreamHeaders(stack: Stack, path: string, headers: Record<string, string>): Promise<Headers> {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { ...headers, "x-test-marker": marker } });
  expect(res.status, res.body).toBe(200);
  const seen = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  if (seen === undefined) throw new Error("the request did not reach the upstream");
  return seen.headers;
}

describe("Portcullis removes the steering headers itself (Envoy's own removal taken out)", () => {
  let stack: Stack;
  let removedFromEnvoy = false;
  beforeAll(async () => {
    stack = await startStack({
      routes: ROUTES,
      config: { policy: { removeRequestHeaders: [...DEFAULT_REMOVED_REQUEST_HEADERS, "x-tenant-override"] } },
      envoyConfig: (rendered) => {
        removedFromEnvoy = ENVOY_REMOVAL.test(rendered);
        return rendered.replace(ENVOY_REMOVAL, "");
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("runs on an Envoy config that removes none of them", () => {
    expect(removedFromEnvoy).toBe(true);
  });

  it("keeps every steering header from the upstream on a public route", async () => {
    const got = await upstreamHeaders(stack, "/public/x", { ...STEERING, "x-tenant-override": "other", "x-kept": "1" });
    for (const name of [...DEFAULT_REMOVED_REQUEST_HEADERS, "x-tenant-override"])
      expect(got[name], name).toBeUndefined();
    expect(got["x-kept"]).toBe("1");
  });

  it("keeps them from the upstream on an authenticated route", async () => {
    const token = await stack.idp().mintUserToken("alice", ["openid"]);
    const got = await upstreamHeaders(stack, "/api/x", { ...STEERING, authorization: `Bearer ${token}` });
    expect(got["x-user-sub"]).toBe("alice");
    for (const name of DEFAULT_REMOVED_REQUEST_HEADERS) expect(got[name], name).toBeUndefined();
  });

  it("lets through only the header a route forwards", async () => {
    const got = await upstreamHeaders(stack, "/prefixed/x", STEERING);
    expect(got["x-forwarded-prefix"]).toBe("/admin");
    expect(got["x-forwarded-host"]).toBeUndefined();
    expect(got["x-http-method-override"]).toBeUndefined();
  });
});

describe("the shipped Envoy config removes them when Portcullis is told to remove none", () => {
  let stack: Stack;
  beforeAll(async () => {
    // No route may forward a header the policy does not remove: check-config refuses that.
    stack = await startStack({
      routes: ROUTES.filter((r) => r.forwardRequestHeaders === undefined),
      config: { policy: { removeRequestHeaders: [] } },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("keeps every steering header from the upstream", async () => {
    const got = await upstreamHeaders(stack, "/public/x", { ...STEERING, "x-kept": "1" });
    for (const name of DEFAULT_REMOVED_REQUEST_HEADERS) expect(got[name], name).toBeUndefined();
    expect(got["x-kept"]).toBe("1");
  });
});

/** A raw HTTP/1.1 GET with the header lines given as is (two Cookie lines), answered by the echo's JSON. */
function rawGet(stack: Stack, path: string, headerLines: readonly string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: stack.envoyPort, servername: "localhost", ca: stack.ca }, () => {
      socket.write(
        [
          `GET ${path} HTTP/1.1`,
          "Host: localhost",
          "Accept: application/json",
          "Connection: close",
          ...headerLines,
          "",
          "",
        ].join("\r\n"),
      );
    });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer from Envoy")));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
  });
}

describe("two Cookie headers through Envoy", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ login: true });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("never passes the session cookie on when it comes in a second Cookie header, and passes the others", async () => {
    const marker = randomUUID();
    const res = await rawGet(stack, "/public/x", [
      `X-Test-Marker: ${marker}`,
      "Cookie: theme=dark; lang=en",
      "Cookie: __Host-portcullis=1.stolen-session; cart=a,b",
    ]);
    expect(res.status, res.body).toBe(200);
    const seen = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
    expect(seen).toBeDefined();
    const cookie = String(seen?.headers["cookie"] ?? "");
    expect(cookie).not.toContain("__Host-portcullis");
    expect(cookie).not.toContain("stolen-session");
    for (const pair of ["theme=dark", "lang=en", "cart=a,b"]) expect(cookie).toContain(pair);
  });

  it("never passes it on when it comes in the first of two Cookie headers", async () => {
    const marker = randomUUID();
    const res = await rawGet(stack, "/public/y", [
      `X-Test-Marker: ${marker}`,
      "Cookie: __Host-portcullis=1.stolen-session",
      "Cookie: theme=dark",
    ]);
    expect(res.status, res.body).toBe(200);
    const seen = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
    const cookie = String(seen?.headers["cookie"] ?? "");
    expect(cookie).not.toContain("stolen-session");
    expect(cookie).toContain("theme=dark");
  });
});
