// API keys for legacy clients through the real Envoy: a configured key in `x-api-key` or in
// `?api_key=` admits its client (the upstream sees x-client-id, never the key, the parameter removed
// and the others kept); an unknown key gets 401 api_key_invalid; a key without the route's scope gets
// 403. Keys from `apiKeys.file` under `serve --watch`: a key added to the file is admitted and one
// removed is refused without a restart; a file that does not load keeps the running keys and counts
// an invalid reload. Portcullis's log never holds a key.

import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const REPORTS_KEY = `rk_${randomUUID()}`;
const OTHER_KEY = `ok_${randomUUID()}`;
const FILE_KEY = `fk_${randomUUID()}`;
const ADDED_KEY = `ak_${randomUUID()}`;
const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");

let stack: Stack;
let keysDir: string;
let keysFile: string;

/** Replaces the keys file as an editor does (a new file renamed over it): one change event. */
async function writeKeysFile(text: string): Promise<void> {
  await writeFile(join(keysDir, ".api-keys.yaml.tmp"), text, { mode: 0o600 });
  await rename(join(keysDir, ".api-keys.yaml.tmp"), keysFile);
}

const fileEntry = (clientId: string, key: string) =>
  `- { clientId: ${clientId}, sha256: ${sha256(key)}, scopes: [reports:read] }\n`;

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "portcullis-apikeys-"));
  keysFile = join(keysDir, "api-keys.yaml");
  await writeKeysFile(fileEntry("file-client", FILE_KEY));
  stack = await startStack({
    watch: true,
    routes: [
      {
        name: "reports",
        match: { host: "localhost", path: "/reports" },
        auth: "required",
        apiKeys: true,
        require: { scopes: ["reports:read"] },
      },
      { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
    ],
    config: {
      apiKeys: {
        enabled: true,
        header: "x-api-key",
        queryParameter: "api_key",
        keys: [
          { clientId: "reports-cron", sha256: sha256(REPORTS_KEY), scopes: ["reports:read"] },
          { clientId: "other-batch", sha256: sha256(OTHER_KEY), scopes: ["other:read"] },
        ],
        file: keysFile,
      },
    },
  });
});

afterAll(async () => {
  await stack?.close();
  if (keysDir !== undefined) await rm(keysDir, { recursive: true, force: true });
});

async function send(path: string, headers: Record<string, string> = {}) {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { ...headers, "x-test-marker": marker } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: res.status, body: res.body, upstream };
}

describe("API keys through Envoy", () => {
  it("admits a key in the header: the upstream sees the client id and not the key", async () => {
    const sent = await send("/reports/q1", { "x-api-key": REPORTS_KEY });
    expect(sent.status).toBe(200);
    expect(sent.upstream?.headers["x-client-id"]).toBe("reports-cron");
    expect(sent.upstream?.headers["x-api-key"]).toBeUndefined();
  });

  it("admits a key in the query parameter, which the upstream does not see, the others kept", async () => {
    const sent = await send(`/reports/q1?year=2026&api_key=${REPORTS_KEY}`);
    expect(sent.status).toBe(200);
    const upstreamUrl = new URL(sent.upstream?.path ?? "/", "http://upstream");
    expect([...upstreamUrl.searchParams]).toEqual([["year", "2026"]]);
    expect(sent.upstream?.headers["x-client-id"]).toBe("reports-cron");
  });

  it("refuses an unknown key with 401 api_key_invalid before the upstream", async () => {
    const sent = await send("/reports/q1", { "x-api-key": `rk_${randomUUID()}` });
    expect(sent).toMatchObject({ status: 401, upstream: undefined });
    expect(sent.body).toContain("api_key_invalid");
  });

  it("refuses a key lacking the route's scope with 403", async () => {
    const sent = await send("/reports/q1", { "x-api-key": OTHER_KEY });
    expect(sent).toMatchObject({ status: 403, upstream: undefined });
  });

  it("is not read on a route that does not opt in", async () => {
    const sent = await send("/api/x", { "x-api-key": REPORTS_KEY });
    expect(sent.status).toBe(401);
  });

  const reloads = (result: string) => stack.metric("portcullis_config_reloads_total", { result });

  it("admits a key added to the keys file and refuses one removed from it, without a restart", async () => {
    expect((await send("/reports/q1", { "x-api-key": FILE_KEY })).upstream?.headers["x-client-id"]).toBe("file-client");
    expect((await send("/reports/q1", { "x-api-key": ADDED_KEY })).status).toBe(401);
    const pid = stack.pids.portcullis;
    const before = await reloads("ok");
    await writeKeysFile(fileEntry("added-client", ADDED_KEY));
    expect(await waitUntil(async () => (await reloads("ok")) === before + 1, 10_000, 50)).toBe(true);

    const added = await send("/reports/q1", { "x-api-key": ADDED_KEY });
    expect(added.status).toBe(200);
    expect(added.upstream?.headers["x-client-id"]).toBe("added-client");
    const removed = await send("/reports/q1", { "x-api-key": FILE_KEY });
    expect(removed).toMatchObject({ status: 401, upstream: undefined });
    expect(removed.body).toContain("api_key_invalid");
    expect((await send("/reports/q1", { "x-api-key": REPORTS_KEY })).status).toBe(200);
    expect(stack.pids.portcullis).toBe(pid);
  });

  it("keeps the running keys when the keys file does not load, counting an invalid reload", async () => {
    const before = await reloads("invalid");
    await writeKeysFile(`- { clientId: broken, sha256: ${ADDED_KEY} }\n`);
    expect(await waitUntil(async () => (await reloads("invalid")) === before + 1, 10_000, 50)).toBe(true);
    expect((await send("/reports/q1", { "x-api-key": ADDED_KEY })).status).toBe(200);
    // The warn line reaches the log file through a pipe: wait for it.
    const problem = `${keysFile} [0].sha256: must be the SHA-256 digest`;
    const logged = async () => (await readFile(join(stack.dir, "portcullis.log"), "utf8")).includes(problem);
    expect(await waitUntil(logged, 5000, 50)).toBe(true);
  });

  it("leaves no key in Portcullis's log", async () => {
    const log = await readFile(join(stack.dir, "portcullis.log"), "utf8");
    expect(log.length).toBeGreaterThan(0);
    for (const key of [REPORTS_KEY, OTHER_KEY, FILE_KEY, ADDED_KEY]) expect(log).not.toContain(key);
  });
});
