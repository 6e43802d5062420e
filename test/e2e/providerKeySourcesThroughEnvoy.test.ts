// Providers that publish no discovery document, through the real Envoy: one whose keys are a JWK Set
// file, one a PEM public key, one a jwksUri given directly (the dev IdP's key set, under an issuer
// that has no discovery document). Their issuers resolve nowhere, so Portcullis being ready at all
// shows it asked for no discovery. One provider limits token lifetime and subjects: a too-long-lived
// token and a stranger's are refused with stable codes, a short-lived listed one passes.

import { createPublicKey, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk, type SigningJwk } from "../../src/demo/startDevIdp.ts";
import { createTempScope } from "../harness/createTempScope.ts";
import { reservePort } from "../harness/reservePort.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import { startStack, TEST_AUDIENCE, type Stack } from "../harness/startStack.ts";

const FILE_ISSUER = "https://keys-from-file.internal.example";
const PEM_ISSUER = "https://keys-from-pem.internal.example";
const DIRECT_ISSUER = "https://direct-jwks.internal.example";
const LIMITED_ISSUER = "https://machines.internal.example";

let stack: Stack;
let closeDir: () => Promise<void>;
let fileKey: SigningJwk;
let pemKey: SigningJwk;
let limitedKey: SigningJwk;

const publicOf = ({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest }: SigningJwk) => rest;

beforeAll(async () => {
  const scope = await createTempScope("portcullis-e2e-keys-");
  closeDir = scope.close;
  [fileKey, pemKey, limitedKey] = await Promise.all([createSigningJwk(), createSigningJwk(), createSigningJwk()]);
  const jwksFile = join(scope.dir, "keys.json");
  writeFileSync(jwksFile, JSON.stringify({ keys: [publicOf(fileKey)] }));
  const pemFile = join(scope.dir, "key.pem");
  const pem = createPublicKey({ key: publicOf(pemKey) as import("node:crypto").JsonWebKey, format: "jwk" });
  writeFileSync(pemFile, pem.export({ type: "spki", format: "pem" }).toString());
  const idpPort = await reservePort();
  const common = { audiences: [TEST_AUDIENCE], discovery: false, jwksTimeoutMs: 5000 };
  stack = await startStack({
    idpPort,
    config: {
      providers: {
        files: { issuer: FILE_ISSUER, ...common, staticKeys: { jwksFile } },
        pem: { issuer: PEM_ISSUER, ...common, staticKeys: { pem: [{ file: pemFile, kid: pemKey.kid }] } },
        direct: {
          issuer: DIRECT_ISSUER,
          ...common,
          jwksUri: `http://127.0.0.1:${idpPort.port}/jwks`,
          allowInsecureHttp: true,
        },
        limited: {
          issuer: LIMITED_ISSUER,
          ...common,
          staticKeys: { jwks: JSON.stringify({ keys: [publicOf(limitedKey)] }) },
          maxTokenLifetimeSeconds: 600,
          subjects: ["billing-batch"],
        },
      },
    },
  });
});

afterAll(async () => {
  await stack?.close();
  await closeDir?.();
});

async function send(token: string) {
  const marker = randomUUID();
  const res = await stack.request("/api/keys", {
    headers: { authorization: `Bearer ${token}`, "x-test-marker": marker },
  });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: res.status, error: (res.json as { error?: unknown } | undefined)?.error ?? null, upstream };
}

describe("providers without discovery", () => {
  it("lets through a token verified with a JWK Set file, for an issuer that has no discovery document", async () => {
    const sent = await send(await stack.signToken({ iss: FILE_ISSUER, sub: "file-user" }, {}, fileKey));
    expect(sent.status).toBe(200);
    expect(sent.upstream?.headers["x-user-sub"]).toBe("file-user");
  });

  it("lets through a token verified with a PEM public key under its configured kid", async () => {
    const sent = await send(await stack.signToken({ iss: PEM_ISSUER, sub: "pem-user" }, {}, pemKey));
    expect(sent.status).toBe(200);
    expect(sent.upstream?.headers["x-user-sub"]).toBe("pem-user");
  });

  it("lets through a token verified with keys from a jwksUri given directly", async () => {
    const sent = await send(await stack.signToken({ iss: DIRECT_ISSUER, sub: "direct-user" }));
    expect(sent.status).toBe(200);
  });

  it("refuses a token signed by another provider's key under this issuer", async () => {
    const sent = await send(await stack.signToken({ iss: FILE_ISSUER }, {}, pemKey));
    expect(sent.status).toBe(401);
    expect(sent.upstream).toBeUndefined();
  });
});

describe("provider token lifetime and subject limits", () => {
  const now = () => Math.floor(Date.now() / 1000);

  it("lets through a short-lived token of a listed subject", async () => {
    const t = now();
    const sent = await send(
      await stack.signToken({ iss: LIMITED_ISSUER, sub: "billing-batch", iat: t, exp: t + 300 }, {}, limitedKey),
    );
    expect(sent.status).toBe(200);
  });

  it("refuses a token issued to live longer than maxTokenLifetimeSeconds with token_lifetime_too_long", async () => {
    const t = now();
    const sent = await send(
      await stack.signToken({ iss: LIMITED_ISSUER, sub: "billing-batch", iat: t, exp: t + 3600 }, {}, limitedKey),
    );
    expect(sent).toMatchObject({ status: 401, error: "token_lifetime_too_long", upstream: undefined });
    const counted = () =>
      stack.metric("portcullis_checks_total", { decision: "deny", reason: "token_lifetime_too_long", route: "api" });
    expect(await waitUntil(async () => (await counted()) > 0, 10_000)).toBe(true);
  });

  it("refuses a token without iat under a lifetime limit", async () => {
    const sent = await send(
      await stack.signToken({ iss: LIMITED_ISSUER, sub: "billing-batch", iat: undefined }, {}, limitedKey),
    );
    expect(sent).toMatchObject({ status: 401, error: "token_lifetime_too_long" });
  });

  it("refuses a token whose subject is not listed with subject_not_allowed", async () => {
    const sent = await send(await stack.signToken({ iss: LIMITED_ISSUER, sub: "someone-else" }, {}, limitedKey));
    expect(sent).toMatchObject({ status: 401, error: "subject_not_allowed", upstream: undefined });
  });
});
