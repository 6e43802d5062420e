// The client of the session admin API (`portcullis sessions`) against real HTTP servers: an answer
// that redirects is reported as a failure and never followed, so the admin token goes to no other
// path or host and another server's 200 is never taken for a revocation done.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { callSessionsAdmin } from "../../src/app/callSessionsAdmin.ts";

const TOKEN = "t".repeat(40);
const servers: Server[] = [];

async function serve(handler: Parameters<typeof createServer>[1]): Promise<URL> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe("the sessions admin client", () => {
  it("does not follow a redirect, to another host or another path of the same one, and reports it", async () => {
    const seen: Array<{ path: string | undefined; headers: IncomingHttpHeaders }> = [];
    const record = (path: string | undefined, headers: IncomingHttpHeaders) => seen.push({ path, headers });
    const elsewhere = await serve((req, res) => {
      record(req.url, req.headers);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    const admin = await serve((req, res) => {
      if (req.url === "/landing") {
        record(req.url, req.headers);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
        return;
      }
      const other = req.method === "POST" ? new URL("/x", elsewhere).href : "/landing";
      res.writeHead(307, { location: other }).end();
    });

    const revoke = await callSessionsAdmin(admin, TOKEN, { kind: "end_user", sub: "alice", provider: null });
    const end = await callSessionsAdmin(admin, TOKEN, { kind: "end_session", handle: "corp.abcdefghijklmnop" });

    expect(revoke).toEqual({
      ok: false,
      message: `307 redirect from ${admin.origin}, not followed: give --admin the admin listener itself`,
    });
    expect(end.ok).toBe(false);
    expect(seen).toEqual([]);
  });
});
