// Bearer JWTs through the real Envoy, the real dev IdP and the echo upstream: what is let through,
// with which identity headers, and every forged or stale token refused with 401.

import { randomUUID } from "node:crypto";
import { importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/cli/demo/createSigningJwk.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

/** Sends a request carrying a unique marker, and reports whether the upstream saw it. */
async function send(path: string, headers: Record<string, string> = {}) {
  const marker = randomUUID();
  const response = await stack.request(path, { headers: { "x-test-marker": marker, ...headers } });
  const seen = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...response, upstream: seen };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("requests without a token", () => {
  it("are refused with 401 and a Bearer WWW-Authenticate challenge, never reaching the upstream", async () => {
    const res = await send("/api/things");
    expect(res.status).toBe(401);
    expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer\b/);
    expect(res.upstream).toBeUndefined();
  });

  it("reach a public route, with no identity headers", async () => {
    const res = await send("/public/page");
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-user-sub"]).toBeUndefined();
  });
});

describe("a valid access token", () => {
  it("from the client-credentials grant is let through with x-user-sub = the client id and an x-user-context", async () => {
    const res = await send("/api/things", bearer(await stack.clientCredentialsToken()));
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-user-sub"]).toBe("demo-cli");
    const context = JSON.parse(Buffer.from(String(res.upstream?.headers["x-user-context"]), "base64").toString("utf8")) as Record<string, unknown>;
    expect(context.id).toBe("demo-cli");
    expect(context.scopes).toEqual(["api:read", "api:write"]);
  });

  it("of a user carries the user's sub, email and roles to the upstream", async () => {
    const res = await send("/api/things", bearer(await stack.idp().mintUserToken("alice")));
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-user-sub"]).toBe("alice");
    expect(res.upstream?.headers["x-user-email"]).toBe("alice@example.com");
    expect(String(res.upstream?.headers["x-user-roles"])).toMatch(/admin/);
  });

  it("reaches the upstream without the client's Authorization header", async () => {
    const res = await send("/api/things", bearer(await stack.clientCredentialsToken()));
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-user-sub"]).toBe("demo-cli");
    expect(res.upstream?.headers["authorization"]).toBeUndefined();
  });

  it("is let through on the path Envoy normalised (/api/../api/x reaches /api/x)", async () => {
    const res = await send("/public/../api/x", bearer(await stack.clientCredentialsToken()));
    expect(res.status).toBe(200);
    expect(res.upstream?.path).toBe("/api/x");
  });
});

describe("client-sent identity headers", () => {
  it.each([
    ["x-user-sub", "x-user-sub"],
    ["X-User-Sub", "x-user-sub"],
    ["X-USER-EMAIL", "x-user-email"],
    ["x-user-roles", "x-user-roles"],
    ["x-user-context", "x-user-context"],
  ])("%s sent by the client never reaches the upstream on an authenticated route", async (sent, seen) => {
    const res = await send("/api/things", { ...bearer(await stack.clientCredentialsToken()), [sent]: "attacker" });
    expect(res.status).toBe(200);
    expect(res.upstream).toBeDefined();
    expect(res.upstream?.headers[seen]).not.toBe("attacker");
    expect(JSON.stringify(res.upstream?.headers)).not.toContain("attacker");
  });

  it("x-user-sub sent by the client never reaches the upstream on a public route", async () => {
    const res = await send("/public/page", { "x-user-sub": "attacker", "X-User-Roles": "admin" });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.upstream?.headers)).not.toContain("attacker");
    expect(res.upstream?.headers["x-user-roles"]).toBeUndefined();
  });

  it("an underscore variant (x_user_sub) is refused by Envoy with 400 before anything else sees it", async () => {
    const res = await send("/api/things", { ...bearer(await stack.clientCredentialsToken()), x_user_sub: "attacker" });
    expect(res.status).toBe(400);
    expect(res.upstream).toBeUndefined();
  });
});

describe("invalid tokens are refused with 401 invalid_token and never reach the upstream", () => {
  const now = () => Math.floor(Date.now() / 1000);

  const cases: [string, () => Promise<string>][] = [
    ["an expired token", () => stack.signToken({ iat: now() - 3600, exp: now() - 600 })],
    ["a token not valid yet (nbf in the future)", () => stack.signToken({ nbf: now() + 600 })],
    ["a token issued in the future (iat beyond clock tolerance)", () => stack.signToken({ iat: now() + 600, exp: now() + 900 })],
    ["a token for another audience", () => stack.signToken({ aud: "some-other-api" })],
    ["a token from another issuer", () => stack.signToken({ iss: "http://127.0.0.1:1/evil" })],
    ["a token with alg none and no signature", async () => {
      const valid = await stack.clientCredentialsToken();
      return `${b64url({ alg: "none", typ: "JWT" })}.${valid.split(".")[1]}.`;
    }],
    ["an HS256 token signed with the IdP's RSA public key as the HMAC secret", async () => {
      const kid = JSON.parse(Buffer.from((await stack.signToken()).split(".")[0] as string, "base64url").toString()).kid as string;
      return new SignJWT({ iss: stack.issuer, aud: stack.audience, sub: "attacker", exp: now() + 300, iat: now() })
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid })
        .sign(new TextEncoder().encode(stack.publicKeyPem()));
    }],
    ["a token signed by a key the IdP does not publish (unknown kid)", async () => {
      const stranger = await createSigningJwk("not-a-published-kid");
      const now_ = now();
      return new SignJWT({ iss: stack.issuer, aud: stack.audience, sub: "attacker", exp: now_ + 300, iat: now_ })
        .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: stranger.kid })
        .sign(await importJWK(stranger, "RS256"));
    }],
    ["a token signed by a foreign key under the IdP's own kid", async () => {
      const kid = JSON.parse(Buffer.from((await stack.signToken()).split(".")[0] as string, "base64url").toString()).kid as string;
      const stranger = await createSigningJwk(kid);
      return new SignJWT({ iss: stack.issuer, aud: stack.audience, sub: "attacker", exp: now() + 300, iat: now() })
        .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid })
        .sign(await importJWK(stranger, "RS256"));
    }],
    ["a valid token whose signature was tampered with", async () => {
      const [h, p, s] = (await stack.clientCredentialsToken()).split(".") as [string, string, string];
      const flipped = s[10] === "A" ? "B" : "A";
      return `${h}.${p}.${s.slice(0, 10)}${flipped}${s.slice(11)}`;
    }],
    ["a valid token whose payload was altered (sub changed)", async () => {
      const [h, p, s] = (await stack.clientCredentialsToken()).split(".") as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
      return `${h}.${b64url({ ...claims, sub: "admin" })}.${s}`;
    }],
    ["a string that is not a JWT", async () => "not-a-jwt"],
  ];

  it.each(cases)("%s", async (_name, makeToken) => {
    const res = await send("/api/things", bearer(await makeToken()));
    expect(res.status).toBe(401);
    expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer\b.*error="invalid_token"/);
    expect(res.upstream).toBeUndefined();
  });
});

describe("requests no Portcullis route matches are denied", () => {
  it("an unknown host is denied even with a valid token", async () => {
    const res = await send("/api/things", { ...bearer(await stack.clientCredentialsToken()), host: "unknown.example.com" });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.upstream).toBeUndefined();
  });

  it("an unmatched path is denied even with a valid token", async () => {
    const res = await send("/elsewhere", bearer(await stack.clientCredentialsToken()));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.upstream).toBeUndefined();
  });

  it("a path that only shares a prefix with a route (/apix) is denied", async () => {
    const res = await send("/apix", bearer(await stack.clientCredentialsToken()));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.upstream).toBeUndefined();
  });
});

describe("metrics", () => {
  it("count allowed and denied checks by route and reason", async () => {
    await send("/api/things");
    const text = await stack.metrics();
    expect(text).toMatch(/^portcullis_checks_total\{[^}]*decision="deny"[^}]*route="api"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^portcullis_checks_total\{[^}]*decision="allow"[^}]*route="api"[^}]*\} [1-9]/m);
  });
});
