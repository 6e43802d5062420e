// Zero trust between services with Envoy alone: the gate's Envoy (ext_authz → Portcullis) forwards
// to a second Envoy in front of the upstream, rendered from the shipped envoy/upstream-jwt-authn.yaml,
// whose jwt_authn verifies Portcullis's signed assertion against the keys Portcullis publishes
// (remote_jwks through a cluster), its issuer and the upstream's audience. Only requests that came
// through the gate with an assertion for that upstream get in; anything else is 401 (403 for another audience).
import { join } from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fillTemplate, startEnvoy, type RunningEnvoy } from "../../src/demo/startEnvoy.ts";
import { assertedRoute } from "../harness/assertedRoute.ts";
import { reservePort } from "../harness/reservePort.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { readFile } from "node:fs/promises";

const ISSUER = "https://portcullis.e2e.test";
const HEADER = "x-portcullis-assertion";
const TEMPLATE = new URL("../../envoy/upstream-jwt-authn.yaml", import.meta.url);

let stack: Stack;
let sidecar: RunningEnvoy;
/** Portcullis's signing key, configured, so the test can sign as Portcullis would. */
const { privateKey: signingKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

beforeAll(async () => {
  const port = await reservePort();
  stack = await startStack({
    upstreamPort: port.port,
    config: {
      identity: {
        assertion: { issuer: ISSUER, keys: [signingKey.export({ format: "pem", type: "pkcs8" }) as string] },
      },
    },
    routes: [
      assertedRoute("orders"),
      assertedRoute("billing"),
      { name: "plain", match: { host: "localhost", path: "/plain" }, auth: "required" },
    ],
  });
  const auth = new URL(stack.portcullisAuthUrl);
  const config = fillTemplate(await readFile(TEMPLATE, "utf8"), {
    LISTEN_PORT: port.port,
    APP_PORT: stack.upstream.port,
    JWKS_HOST: auth.hostname,
    JWKS_PORT: Number(auth.port),
    JWKS_URI: `${stack.portcullisAuthUrl}/.well-known/jwks.json`,
    ISSUER,
    AUDIENCE: "orders",
  });
  await port.release();
  sidecar = await startEnvoy({ config, logFile: join(stack.dir, "sidecar-envoy.log") });
}, 120_000);

afterAll(async () => {
  await sidecar?.stop();
  await stack?.close();
});

const token = () => stack.signToken({ sub: "alice", email: "alice@example.com" });

/** Straight to the sidecar, as another service inside the network could, skipping the gate. */
async function direct(path: string, headers: Record<string, string>) {
  const port = sidecar.listenerPorts["upstream_sidecar"];
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  await res.arrayBuffer();
  return res.status;
}

describe("Envoy jwt_authn in front of an upstream", () => {
  it("lets a request through the gate in with its assertion, and the upstream reads the verified subject", async () => {
    const res = await stack.request("/orders/1", { headers: { authorization: `Bearer ${await token()}` } });
    expect(res.status).toBe(200);
    const seen = stack.upstream.requests().at(-1);
    expect(seen?.path).toBe("/orders/1");
    expect(seen?.headers["x-verified-sub"]).toBe("alice");
    expect(typeof seen?.headers[HEADER]).toBe("string");
  });

  it("refuses (401) a request whose route adds no assertion, even with one the client made up", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const forged = await new SignJWT({ sub: "admin" })
      .setProtectedHeader({ alg: "ES256", kid: "portcullis" })
      .setIssuer(ISSUER)
      .setAudience("orders")
      .setIssuedAt()
      .setExpirationTime("1m")
      .sign(privateKey);
    const res = await stack.request("/plain/1", {
      headers: { authorization: `Bearer ${await token()}`, [HEADER]: forged },
    });
    expect(res.status).toBe(401);
    expect(await direct("/orders/1", { [HEADER]: forged })).toBe(401);
    expect(await direct("/orders/1", {})).toBe(401);
  });

  it("never passes on a client's own x-verified-sub, even when the assertion carries no sub", async () => {
    // A caller without a subject (a machine token naming neither sub nor a client) gets an assertion
    // without sub: jwt_authn then sets no x-verified-sub, and the client's must not survive either.
    const headless = await stack.signToken({ sub: undefined, client_id: undefined });
    for (const bearer of [headless, await token()]) {
      const res = await stack.request("/orders/impersonate", {
        headers: { authorization: `Bearer ${bearer}`, "x-verified-sub": "admin" },
      });
      expect(res.status).toBe(200);
      const seen = stack.upstream.requests().at(-1);
      expect(seen?.path).toBe("/orders/impersonate");
      expect(seen?.headers["x-verified-sub"]).not.toBe("admin");
    }
  });

  it("refuses an assertion a few seconds past its exp, signed with Portcullis's own key", async () => {
    // The assertion lives 60 s; jwt_authn's default clock skew (60 s) would double the time a copied
    // one can be replayed. The recipe allows 5 s.
    const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
    const now = Math.floor(Date.now() / 1000);
    const minted = (exp: number) =>
      new SignJWT({ sub: "alice" })
        .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
        .setIssuer(ISSUER)
        .setAudience("orders")
        .setIssuedAt(exp - 60)
        .setExpirationTime(exp)
        .sign(signingKey);
    expect(await direct("/orders/1", { [HEADER]: await minted(now + 30) })).toBe(200);
    expect(await direct("/orders/1", { [HEADER]: await minted(now - 30) })).toBe(401);
  });

  it("refuses (403) an assertion minted for another upstream's audience", async () => {
    // The billing route's assertion, sent on to this sidecar by a misrouted gate: jwt_authn answers
    // an audience it does not accept with 403, a missing or unverifiable assertion with 401.
    const res = await stack.request("/billing/1", { headers: { authorization: `Bearer ${await token()}` } });
    expect(res.status).toBe(403);
    expect(stack.upstream.requests().some((r) => r.path === "/billing/1")).toBe(false);
  });
});
