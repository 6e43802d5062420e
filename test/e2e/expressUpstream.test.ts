// A real Express 5 app as the upstream behind the real Envoy and Portcullis. Express routes
// case-insensitively by default and answers HEAD with the GET handler, so it is the upstream where a
// gate that matches paths by exact case, or `methods: [GET]` without HEAD, hands a protected handler
// to a user the rule was written to keep out. Express 5 (router `strict: false`) also serves `/a/` with
// the `/a` handler, so exact, glob and anchored-regex rules must hold with a trailing slash toggled.
// The protected handlers record who reached them.

import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import express from "express";
import type { Request, Response } from "express";
import { createRawHttpsPool } from "../harness/createRawHttpsPool.ts";
import type { RawHttpsPool } from "../harness/createRawHttpsPool.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

const adminOnly = { auth: "required", require: { roles: ["admin"] } } as const;
const ROUTES = [
  { name: "admin", match: { path: "/admin", methods: ["GET"] }, ...adminOnly },
  { name: "panel", match: { pathExact: "/ops/panel" }, ...adminOnly },
  { name: "users", match: { pathRegex: "^/v[0-9]+/users$" }, ...adminOnly },
  { name: "meta", match: { pathGlob: "/files/*/meta" }, ...adminOnly },
  { name: "reports", match: { pathExact: "/reports/" }, ...adminOnly },
];

/** Markers (x-test-marker) of the requests that reached the admin handler. */
const adminHits = new Set<string>();
let server: Server;
let stack: Stack;
let pool: RawHttpsPool;
let tokens: { alice: string; bob: string };

beforeAll(async () => {
  const app = express();
  const adminArea = (req: Request, res: Response) => {
    adminHits.add(req.get("x-test-marker") ?? "");
    res.type("text/plain").send("admin area");
  };
  app.get("/admin/*splat", adminArea);
  for (const path of ["/ops/panel", "/v1/users", "/v22/users", "/files/:id/meta", "/reports/"])
    app.get(path, adminArea);
  app.use((_req: Request, res: Response) => {
    res.type("text/plain").send("catch-all");
  });
  server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  stack = await startStack({
    routes: ROUTES,
    config: { policy: { mode: "whitelist" } },
    upstreamPort: (server.address() as AddressInfo).port,
  });
  pool = createRawHttpsPool({ port: stack.envoyPort, ca: stack.ca, connections: 2 });
  tokens = { alice: await stack.idp().mintUserToken("alice"), bob: await stack.idp().mintUserToken("bob") };
}, 60_000);

afterAll(async () => {
  pool?.close();
  await stack?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
});

async function send(user: "alice" | "bob", method: string, target: string) {
  const marker = randomUUID();
  const res = await pool.send({
    method,
    target,
    headers: { authorization: `Bearer ${tokens[user]}`, "x-test-marker": marker },
  });
  return { status: res.status, body: res.body, reachedAdmin: adminHits.has(marker) };
}

describe("an Express upstream behind Envoy and Portcullis", () => {
  it("serves the admin handler to alice (role admin) for GET and HEAD /admin/y", async () => {
    const get = await send("alice", "GET", "/admin/y");
    expect(get).toEqual({ status: 200, body: "admin area", reachedAdmin: true });
    const head = await send("alice", "HEAD", "/admin/y");
    expect(head).toMatchObject({ status: 200, reachedAdmin: true });
  });

  it("serves bob (no admin role) the catch-all, so a 403 below is the gate's and not Express's", async () => {
    expect(await send("bob", "GET", "/other/y")).toEqual({ status: 200, body: "catch-all", reachedAdmin: false });
    expect(await send("bob", "GET", "/admin/y")).toMatchObject({ status: 403, reachedAdmin: false });
  });

  for (const target of [
    "/Admin/y",
    "/ADMIN/y",
    "/aDmIn/y",
    "/admin;x/y",
    "/admin;/y",
    "/admin./y",
    "/%2561dmin/x",
    "/admin%3bx/y",
    "/admin%20/y",
  ]) {
    it(`never hands bob the admin handler for ${target} (400 or 403)`, async () => {
      const res = await send("bob", "GET", target);
      expect(res.reachedAdmin).toBe(false);
      expect([400, 403]).toContain(res.status);
    });
  }

  for (const target of ["/admin/y", "/Admin/y"]) {
    it(`does not let HEAD ${target} past a \`methods: [GET]\` admin rule (Express answers HEAD with the GET handler)`, async () => {
      const res = await send("bob", "HEAD", target);
      expect(res.reachedAdmin).toBe(false);
      expect(res.status).toBe(403);
    });
  }

  it("serves alice the exact, regex and glob rules' handlers with and without a trailing slash", async () => {
    for (const target of ["/ops/panel", "/ops/panel/", "/v1/users/", "/files/a/meta/", "/reports", "/reports/"]) {
      expect(await send("alice", "GET", target), target).toEqual({
        status: 200,
        body: "admin area",
        reachedAdmin: true,
      });
    }
  });

  for (const target of [
    "/admin/y/",
    "/Admin/y/",
    "/ops/panel/",
    "/OPS/Panel/",
    "/v1/users/",
    "/V22/users/",
    "/files/a/meta/",
    "/reports",
  ]) {
    it(`never hands bob the admin handler for ${target} (a trailing slash toggled, 403)`, async () => {
      const res = await send("bob", "GET", target);
      expect(res.reachedAdmin).toBe(false);
      expect(res.status).toBe(403);
    });
  }
});
