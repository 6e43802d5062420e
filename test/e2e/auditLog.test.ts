// The audit log option: one line per decision through the real Envoy, naming route, decision,
// reason, the caller (a person's sub or a machine's client id) and provider, never a token.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ config: { log: { level: "info", audit: true } } });
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

interface LogLine {
  readonly msg?: string;
  readonly audit?: boolean;
  readonly requestId?: string;
  readonly route?: string;
  readonly decision?: string;
  readonly reason?: string;
  readonly code?: string;
  readonly caller?: string;
  readonly callerKind?: string;
  readonly provider?: string;
}

async function auditLines(): Promise<{ lines: LogLine[]; raw: string }> {
  const raw = await readFile(join(stack.dir, "portcullis.log"), "utf8");
  const lines = raw
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.audit === true);
  return { lines, raw };
}

describe("audit log", () => {
  it("writes one line per decision with the caller and no token", async () => {
    const user = await stack.idp().mintUserToken("alice");
    const machine = await stack.clientCredentialsToken();
    const before = (await auditLines()).lines.length;
    expect((await stack.request("/api/a", { headers: { authorization: `Bearer ${user}` } })).status).toBe(200);
    expect((await stack.request("/api/b", { headers: { authorization: `Bearer ${machine}` } })).status).toBe(200);
    expect((await stack.request("/api/c")).status).toBe(401);
    let found: LogLine[] = [];
    await waitUntil(async () => {
      found = (await auditLines()).lines.slice(before);
      return found.length >= 3;
    }, 10_000);
    // Envoy at the edge makes its own x-request-id, so the three lines are told apart by content.
    expect(found).toEqual([
      expect.objectContaining({
        msg: "audit",
        decision: "allow",
        reason: "authenticated",
        route: "api",
        callerKind: "user",
        caller: "alice",
        provider: "demo",
      }),
      expect.objectContaining({
        msg: "audit",
        decision: "allow",
        reason: "authenticated",
        route: "api",
        callerKind: "client",
        caller: "demo-cli",
      }),
      expect.objectContaining({ msg: "audit", decision: "deny", code: "token_missing", route: "api" }),
    ]);
    expect(found.every((l) => typeof l.requestId === "string" && l.requestId.length > 0)).toBe(true);
    const { raw } = await auditLines();
    for (const token of [user, machine]) for (const part of token.split(".")) expect(raw).not.toContain(part);
  }, 30_000);
});
