// A config reload builds the next generation on the process's one clock: the registry, the gate and
// browser login of every generation read the time the live pipeline was given, not the system's.
import { afterEach, describe, expect, it } from "vitest";
import { createLivePipeline } from "../../src/app/createLivePipeline.ts";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { createSigningKey, signToken, startLoopbackIdp } from "./oidcLoopbackIdp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function configOf(issuer: string, audiences: string[]): PortcullisConfig {
  const parsed = parseConfig({
    listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
    providers: { idp: { issuer, audiences, allowInsecureHttp: true, jwksCooldownSeconds: 0 } },
    routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

function request(token: string): AccessRequest {
  return {
    requestId: "unit",
    method: "GET",
    scheme: "https",
    host: "localhost",
    path: "/api/x",
    headers: new Map([["authorization", `Bearer ${token}`]]),
  };
}

describe("a config reload and the process clock", () => {
  it("verifies tokens on the live pipeline's clock after a reload that rebuilds the registry", async () => {
    const key = await createSigningKey("k1");
    const idp = await startLoopbackIdp([key.publicJwk]);
    cleanups.push(() => idp.close());
    // Far from the system's time: a token valid on this clock is not valid on the real one.
    const clock = createManualClock(Date.UTC(2031, 0, 1));
    const nowSeconds = Math.floor(clock.now() / 1000);
    const live = createLivePipeline(configOf(idp.issuer, ["api"]), createLogger("silent"), clock);
    cleanups.push(() => live.close());
    await live.start();
    const token = await signToken(key, idp.issuer, {}, { nowSeconds });
    expect(await live.gate.decide(request(token))).toMatchObject({ kind: "allow" });

    // A changed provider: the next generation gets a registry of its own.
    const before = live.current().registry;
    expect(await live.apply(configOf(idp.issuer, ["api", "api-v2"]))).toMatchObject({ result: "ok" });
    expect(live.current().registry).not.toBe(before);

    const after = await signToken(key, idp.issuer, { aud: "api-v2" }, { nowSeconds });
    expect(await live.gate.decide(request(after))).toMatchObject({ kind: "allow" });
  });
});
