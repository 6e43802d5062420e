// The admin API of a single `serve` process follows its config: a reload turns it on (404 → 401
// without the token → 200 with it), rotates its token (the old one is refused at once) and turns it
// off again. Counted on the process's own /metrics.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createConfigReloader } from "../../src/app/createConfigReloader.ts";
import { startServer } from "../../src/app/startServer.ts";
import { loadConfigFile } from "../../src/config/loadConfigFile.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { readMetric } from "../harness/readMetric.ts";

const FIRST = "first-admin-token-0123456789abcdefghij";
const SECOND = "second-admin-token-0123456789abcdefghij";
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const base = {
  listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
  routes: [{ name: "api", match: { path: "/api" }, auth: "public" }],
  log: { level: "warn" },
  shutdown: { drainSeconds: 0 },
};
const withApi = (enabled: boolean) => ({ ...base, admin: { api: { enabled, token: "${ADMIN_TOKEN}" } } });

describe("the admin API across reloads", () => {
  it("is turned on, has its token rotated and is turned off by a reload", async () => {
    const dir = await mkdtemp(join(tmpdir(), "portcullis-admin-reload-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "config.yaml");
    const env: NodeJS.ProcessEnv = { ADMIN_TOKEN: FIRST };
    await writeFile(file, stringify(base));
    const loaded = loadConfigFile(file, env);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const logger = createLogger("warn", { write: () => undefined });
    const server = await startServer(loaded.config, { logger });
    cleanups.push(() => server.stop());
    const reloader = createConfigReloader({ file, env, server, logger });
    const revoke = async (token: string | null) => {
      const res = await fetch(`http://127.0.0.1:${server.ports.admin}/admin/users/revoke`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify({ sub: "alice" }),
      });
      await res.arrayBuffer();
      return res.status;
    };

    expect(await revoke(FIRST)).toBe(404);
    await writeFile(file, stringify(withApi(true)));
    expect(await reloader.reload("SIGHUP")).toBe("ok");
    expect([await revoke(null), await revoke(FIRST)]).toEqual([401, 200]);

    env["ADMIN_TOKEN"] = SECOND;
    expect(await reloader.reload("SIGHUP")).toBe("ok");
    expect([await revoke(FIRST), await revoke(SECOND)]).toEqual([401, 200]);

    await writeFile(file, stringify(withApi(false)));
    expect(await reloader.reload("SIGHUP")).toBe("ok");
    expect(await revoke(SECOND)).toBe(404);
    const metrics = await server.metrics.registry.metrics();
    expect(readMetric(metrics, "portcullis_admin_actions_total", { action: "end_user_sessions", result: "ok" })).toBe(
      2,
    );
  });
});
