// The admin API as a `serve --workers` supervisor serves it follows a reload too: a rotated token is
// refused from the next request and an API turned off answers 404; one turned on by a reload stays
// off until a restart (its Redis connection is opened at start) and a warning says so.
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createSupervisorAdminApi, type SupervisorAdminApi } from "../../src/app/createSupervisorAdminApi.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { startAdminServer, type AdminServer } from "../../src/observability/startAdminServer.ts";

const FIRST = "first-admin-token-0123456789abcdefghij";
const SECOND = "second-admin-token-0123456789abcdefghij";
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function configWith(api: { enabled: boolean; token: string } | null): PortcullisConfig {
  // As loadConfigFile reads `token: ${PORTCULLIS_ADMIN_TOKEN}`: the token came from the environment.
  const parsed = parseConfig(
    { routes: [{ name: "api", match: { path: "/api" }, auth: "public" }], ...(api === null ? {} : { admin: { api } }) },
    { secretPaths: new Set(["admin.api.token"]) },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

async function serve(config: PortcullisConfig, lines: string[]) {
  const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
  const api: SupervisorAdminApi = createSupervisorAdminApi(config, logger);
  cleanups.push(() => api.close());
  const server: AdminServer = await startAdminServer({
    host: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    notReadyReason: () => null,
    adminApi: api.api,
  });
  cleanups.push(() => server.close());
  const revoke = async (token: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}/admin/users/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ sub: "alice" }),
    });
    await res.arrayBuffer();
    return res.status;
  };
  return { api, revoke };
}

describe("the admin API of a serve --workers supervisor across reloads", () => {
  it("refuses the old token at once after a rotation, and answers 404 once turned off", async () => {
    const { api, revoke } = await serve(configWith({ enabled: true, token: FIRST }), []);
    // 409 admin_needs_redis: past the token check (this config has no Redis).
    expect([await revoke(FIRST), await revoke(SECOND)]).toEqual([409, 401]);
    api.reload(configWith({ enabled: true, token: SECOND }));
    expect([await revoke(FIRST), await revoke(SECOND)]).toEqual([401, 409]);
    api.reload(configWith({ enabled: false, token: SECOND }));
    expect([await revoke(FIRST), await revoke(SECOND)]).toEqual([404, 404]);
  });

  it("keeps an API that was off at start off after a reload turns it on, and warns to restart", async () => {
    const lines: string[] = [];
    const { api, revoke } = await serve(configWith(null), lines);
    api.reload(configWith({ enabled: true, token: FIRST }));
    expect(await revoke(FIRST)).toBe(404);
    expect(lines.join("")).toContain("a serve --workers supervisor serves it only after a restart");
  });
});
