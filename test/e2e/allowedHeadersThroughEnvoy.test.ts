// The shipped Envoy template with allowed_headers through real Envoy: Envoy sends ext_authz only the
// headers the running config reads (identity headers are not among them), and yet a client's own
// identity header never reaches the upstream on any kind of route, since Portcullis removes or
// overwrites every one on every allowed request whether it saw it or not; headers Portcullis does
// not read still reach the upstream untouched.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";

let stack: Stack;

const IDENTITY = ["x-user-sub", "x-user-email", "x-user-roles", "x-user-context", "x-client-id", "x-user-tenant"];
const FORGED = Object.fromEntries(IDENTITY.map((name) => [name, `forged-${name}`]));

beforeAll(async () => {
  stack = await startStack({
    login: true,
    routes: [
      { name: "public", match: { path: "/public" }, auth: "public" },
      { name: "optional", match: { path: "/optional" }, auth: "optional" },
      { name: "default", match: { path: "/" }, auth: "required" },
    ],
    config: { identity: { claimHeaders: { "x-user-tenant": "tenant" } } },
  });
});

afterAll(async () => {
  await stack?.close();
});

/** The ext_authz allowed_headers of the running Envoy, from its admin config dump. */
async function runningAllowedHeaders(): Promise<string[]> {
  const res = await fetch(`${stack.envoyAdminUrl}/config_dump`, { signal: AbortSignal.timeout(5000) });
  const found: string[][] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === "object") {
      const patterns = (node as { allowed_headers?: { patterns?: { exact: string }[] } }).allowed_headers?.patterns;
      if (patterns !== undefined) found.push(patterns.map((p) => p.exact));
      Object.values(node).forEach(walk);
    }
  };
  walk(await res.json());
  // The dump holds the listener twice (the bootstrap and the listener itself): one list, either way.
  if (found.length === 0 || found.some((f) => JSON.stringify(f) !== JSON.stringify(found[0])))
    throw new Error(`expected one ext_authz allowed_headers, found ${JSON.stringify(found)}`);
  return found[0]!;
}

async function send(path: string, headers: Record<string, string>) {
  const marker = randomUUID();
  const response = await stack.request(path, { headers: { "x-test-marker": marker, ...headers } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...response, upstream };
}

describe("ext_authz allowed_headers through real Envoy", () => {
  it("runs Envoy with the headers this config reads, and no identity header among them", async () => {
    const allowed = await runningAllowedHeaders();
    expect(allowed).toContain("authorization");
    expect(allowed).toContain("cookie");
    expect(allowed).toContain("x-forwarded-host");
    for (const name of IDENTITY) expect(allowed).not.toContain(name);
    expect(allowed).not.toContain("user-agent");
  });

  it.each([
    ["a public route", "/public/page", false],
    ["an optional route without a token", "/optional/page", false],
    ["an optional route with a token", "/optional/page", true],
    ["a required route with a token", "/api/things", true],
  ])("never lets a client's identity header reach the upstream on %s", async (_what, path, withToken) => {
    const token = withToken
      ? await stack.signToken({ sub: "alice", email: "alice@example.com", tenant: "acme" })
      : null;
    const res = await send(path, { ...FORGED, ...(token === null ? {} : { authorization: `Bearer ${token}` }) });
    expect(res.status).toBe(200);
    expect(res.upstream).toBeDefined();
    expect(JSON.stringify(res.upstream?.headers)).not.toContain("forged-");
    if (token !== null) {
      expect(res.upstream?.headers["x-user-sub"]).toBe("alice");
      expect(res.upstream?.headers["x-user-tenant"]).toBe("acme");
    }
  });

  it("passes the headers Portcullis does not read on to the upstream as sent", async () => {
    const token = await stack.signToken({ sub: "bob" });
    const res = await send("/api/things", {
      authorization: `Bearer ${token}`,
      "accept-language": "en-GB,en;q=0.9",
      "user-agent": "allowed-headers-test/1.0",
    });
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["accept-language"]).toBe("en-GB,en;q=0.9");
    expect(res.upstream?.headers["user-agent"]).toBe("allowed-headers-test/1.0");
  });

  it("still sends a browser without a session to log in (Accept and the Fetch metadata reach Portcullis)", async () => {
    const res = await stack.request("/app", {
      headers: { accept: "text/html", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" },
    });
    expect(res.status).toBe(302);
    const api = await stack.request("/app", { headers: { accept: "text/html", "sec-fetch-mode": "cors" } });
    expect(api.status).toBe(401);
  });
});
