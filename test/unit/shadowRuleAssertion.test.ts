// A signed identity assertion on a shadow rule (`routes[].mode: shadow` with `routes[].assertion`):
// the rule never lets a request through, so nothing is signed for it and the upstream gets the
// deciding rule's assertion, or none. check-config warns about a shadow rule's own assertion (with
// its key path and the fix), and stays quiet when the assertion comes from identity.assertion.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAssertionPipeline } from "../../src/app/createAssertionPipeline.ts";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { Gate, type VerifyOutcome } from "../../src/core/Gate.ts";
import { normalizePath } from "../../src/core/normalizePath.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { createIdentityHeaders } from "../../src/identity/IdentityHeaders.ts";
import { headerOf, removalsOf } from "../harness/checkOutcome.ts";
import { checkRequest } from "../harness/checkRequest.ts";
import { createManualClock } from "../harness/createManualClock.ts";

const HEADER = "x-portcullis-assertion";
const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-shadow-assertion-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function checkConfig(name: string, yaml: string) {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  let stderr = "";
  const code = await runCheckConfig(["--config", path], {
    stdout: { write: () => true },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
  });
  return { code, stderr };
}

const HEAD = `providers:
  demo: { issuer: "https://idp.example.com", audiences: [api] }
redis: { url: "redis://127.0.0.1:6379" }
`;

/** The shadow rule `orders-next` (its own assertion) before `orders`, which decides. */
function routesYaml(deciding: string): string {
  return `routes:
  - name: orders-next
    mode: shadow
    match: { path: /orders }
    auth: required
    require: { roles: [buyer] }
    assertion: { enabled: true, audience: orders-next }
  - { name: orders, match: { path: /orders }, auth: required${deciding} }
`;
}

describe("check-config on a shadow rule's signed assertion", () => {
  it("warns, naming the key, that it signs nothing until the rule enforces, and how to sign now", async () => {
    const { code, stderr } = await checkConfig(
      "own.yaml",
      `${HEAD}identity: { assertion: { issuer: "https://auth.example.com" } }\n${routesYaml("")}`,
    );
    expect(code).toBe(0);
    expect(stderr).toContain("routes[0].assertion: is set on orders-next, a mode: shadow rule");
    expect(stderr).toContain("no assertion is signed for it");
    expect(stderr).toContain("set it on the deciding rule");
  });

  it("says nothing when every route adds the assertion through identity.assertion", async () => {
    const { code, stderr } = await checkConfig(
      "global.yaml",
      `${HEAD}identity: { assertion: { enabled: true, issuer: "https://auth.example.com", audience: shop } }
routes:
  - { name: orders-next, mode: shadow, match: { path: /orders }, auth: required, require: { roles: [buyer] } }
  - { name: orders, match: { path: /orders }, auth: required }
`,
    );
    expect(code).toBe(0);
    expect(stderr).not.toContain("mode: shadow rule");
  });
});

const alice: VerifyOutcome = {
  ok: true,
  provider: "demo",
  claims: Object.freeze({ sub: "alice", roles: ["viewer"], exp: T0 / 1000 + 3600 }),
  expiresAt: T0 / 1000 + 3600,
};

function gateOf(decidingAudience: string): Gate {
  const raw = {
    providers: { demo: { issuer: "https://idp.example.com", audiences: ["api"] } },
    redis: { url: "redis://127.0.0.1:6379" },
    identity: { assertion: { issuer: "https://auth.example.com" } },
    routes: [
      {
        name: "orders-next",
        mode: "shadow",
        match: { path: "/orders" },
        auth: "required",
        require: { roles: ["buyer"] },
        assertion: { enabled: true, audience: "orders-next" },
      },
      {
        name: "orders",
        match: { path: "/orders" },
        auth: "required",
        ...(decidingAudience === "" ? {} : { assertion: { enabled: true, audience: decidingAudience } }),
      },
    ],
  };
  const parsed = parseConfig(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const config: PortcullisConfig = parsed.config;
  const clock = createManualClock(T0);
  const identity = createIdentityHeaders(config.identity);
  return new Gate({
    normalizePath,
    routes: new RouteTable(config.routes, config.policy),
    identity,
    assertions: createAssertionPipeline(config, identity, { logger: pino({ level: "silent" }), clock }),
    clock,
    verifier: {
      verify: async (token) =>
        token === "alice" ? alice : { ok: false, code: "signature_invalid", detail: "unknown" },
    },
  });
}

describe("a shadow rule's signed assertion at the gate", () => {
  it("is never signed: the deciding rule without an assertion lets the request through without one", async () => {
    const answer = await gateOf("").decide(checkRequest("/orders/1", { authorization: "Bearer alice" }));
    expect(answer).toMatchObject({ kind: "allow", route: "orders", shadowDenials: [{ route: "orders-next" }] });
    expect(headerOf(answer, HEADER)).toBeUndefined();
    expect(removalsOf(answer)).toContain(HEADER);
  });

  it("leaves the upstream the deciding rule's assertion, for the deciding rule's audience", async () => {
    const answer = await gateOf("orders").decide(checkRequest("/orders/1", { authorization: "Bearer alice" }));
    expect(decodeJwt(headerOf(answer, HEADER)!)).toMatchObject({ aud: "orders", sub: "alice" });
  });
});
