// Through real Envoy: a route's responseHeaders reach the client on an allowed request (x-auth-user
// for a UI) and never the upstream; its denial bodies reach the client as configured, an HTML page
// for a browser navigation read from a file (placeholders filled in) and JSON for an API client, with the status and
// WWW-Authenticate Portcullis chose.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";

const PAGE = "<!doctype html><h1>Staff only</h1><p>Error {{code}} ({{status}}), reference {{requestId}}</p>";
const JSON_BODY = '{"error":"forbidden","help":"https://intranet.example.com/access"}';

describe("a route's response headers and denial bodies through Envoy", () => {
  let stack: Stack;
  let pages: string;
  beforeAll(async () => {
    // The page comes from a file, as a deployment mounts it.
    pages = await mkdtemp(join(tmpdir(), "portcullis-pages-"));
    await writeFile(join(pages, "403.html"), PAGE);
    stack = await startStack({
      routes: [
        {
          name: "ui",
          match: { host: "localhost", path: "/api/ui" },
          auth: "required",
          require: { roles: ["staff"] },
          responseHeaders: { "x-auth-user": "email", "x-auth-id": "sub" },
          denial: { htmlFile: join(pages, "403.html"), json: JSON_BODY },
        },
        { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
        { name: "public", match: { host: "localhost", path: "/public" }, auth: "public" },
      ],
    });
  });
  afterAll(async () => {
    await stack?.close();
    await rm(pages, { recursive: true, force: true });
  });

  it("sends the client x-auth-user and x-auth-id on an allowed request, and only on that route", async () => {
    const token = await stack.signToken({ sub: "alice", email: "alice@example.com", roles: ["staff"] });
    const res = await stack.request("/api/ui/home", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers["x-auth-user"]).toBe("alice@example.com");
    expect(res.headers["x-auth-id"]).toBe("alice");
    const upstream = stack.upstream.requests().find((r) => r.path === "/api/ui/home");
    expect(upstream?.headers["x-auth-user"]).toBeUndefined();
    const other = await stack.request("/api/other", { headers: { authorization: `Bearer ${token}` } });
    expect(other.status).toBe(200);
    expect(other.headers["x-auth-user"]).toBeUndefined();
  });

  it("shows a browser its HTML page and an API client its JSON, with the status Portcullis chose", async () => {
    const guest = await stack.signToken({ sub: "bob", roles: ["guest"] });
    const page = await stack.request("/api/ui/home", {
      headers: { authorization: `Bearer ${guest}`, accept: "text/html", "sec-fetch-mode": "navigate" },
    });
    expect(page.status).toBe(403);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toMatch(
      /^<!doctype html><h1>Staff only<\/h1><p>Error requirement_failed \(403\), reference [\w-]+<\/p>$/,
    );
    const api = await stack.request("/api/ui/data", { headers: { authorization: `Bearer ${guest}` } });
    expect(api.status).toBe(403);
    expect(api.headers["content-type"]).toBe("application/json");
    expect(api.body).toBe(JSON_BODY);
    const missing = await stack.request("/api/ui/data");
    expect(missing.status).toBe(401);
    expect(missing.body).toBe(JSON_BODY);
    expect(missing.headers["www-authenticate"]).toMatch(/^Bearer/);
  });
});
