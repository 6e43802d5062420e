// A shadow rule through the real Envoy, dev IdP and echo upstream: a request the shadow rule would
// deny reaches the upstream on the next rule's decision, and the would-be denial is counted on
// /metrics and logged with the route and code only.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    routes: [
      {
        name: "api-admins",
        mode: "shadow",
        match: { host: "localhost", path: "/api" },
        auth: "required",
        require: { roles: { anyOf: ["admin"] } },
      },
      { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
      { name: "public", match: { host: "localhost", path: "/public" }, auth: "public" },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
});

async function send(path: string, token: string) {
  const marker = randomUUID();
  const response = await stack.request(path, {
    headers: { "x-test-marker": marker, authorization: `Bearer ${token}` },
  });
  const seen = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...response, upstream: seen };
}

async function shadowLogLines(): Promise<Array<Record<string, unknown>>> {
  const raw = await readFile(join(stack.dir, "portcullis.log"), "utf8");
  return raw
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l["msg"] === "shadow rule would deny");
}

const SHADOW = { route: "api-admins", code: "requirement_failed" };

describe("a shadow rule", () => {
  it("lets a request it would deny reach the upstream on the next rule's decision, counting and logging the denial", async () => {
    const token = await stack.clientCredentialsToken();
    const before = await stack.metric("portcullis_shadow_denials_total", SHADOW);
    const allowedBefore = await stack.metric("portcullis_checks_total", {
      decision: "allow",
      reason: "authenticated",
      route: "api",
    });

    const res = await send("/api/things", token);

    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-client-id"]).toBe("demo-cli");
    expect(await stack.metric("portcullis_shadow_denials_total", SHADOW)).toBe(before + 1);
    expect(
      await stack.metric("portcullis_checks_total", { decision: "allow", reason: "authenticated", route: "api" }),
    ).toBe(allowedBefore + 1);
    let lines: Array<Record<string, unknown>> = [];
    expect(await waitUntil(async () => (lines = await shadowLogLines()).length >= 1, 10_000)).toBe(true);
    expect(lines.at(-1)).toMatchObject({ level: "info", ...SHADOW, decidedBy: "api", decision: "allow" });
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it("counts nothing for a caller who meets its requirements", async () => {
    const before = await stack.metric("portcullis_shadow_denials_total", SHADOW);
    const res = await send("/api/mine", await stack.idp().mintUserToken("alice"));
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-user-sub"]).toBe("alice");
    expect(await stack.metric("portcullis_shadow_denials_total", SHADOW)).toBe(before);
  });
});
