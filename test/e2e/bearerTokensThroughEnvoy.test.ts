// Bearer JWTs through the real Envoy, the real dev IdP and the echo upstream: what is let through,
// with which identity headers, every forged or stale token refused with 401 and its stable code,
// what Envoy does before Portcullis is asked (path normalisation, /oauth2/ routing), and metrics.

import { randomUUID } from "node:crypto";
import { importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
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

/** The `error` code of a JSON denial body (undefined when the body is not one). */
const errorCode = (res: { json: unknown }) => (res.json as { error?: unknown } | undefined)?.error;

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
    expect(res.upstream).toBeDefined();
    expect(res.upstream?.headers["x-user-sub"]).toBeUndefined();
  });
});

describe("a valid access token", () => {
  it("from the client-credentials grant is let through as a machine: x-client-id, and no x-user-* made from the client id", async () => {
    const res = await send("/api/things", {
      ...bearer(await stack.clientCredentialsToken()),
      "x-user-sub": "attacker",
    });
    expect(res.status).toBe(200);
    expect(res.upstream).toBeDefined();
    expect(res.upstream?.headers["x-client-id"]).toBe("demo-cli");
    expect(res.upstream?.headers["x-user-sub"]).toBeUndefined();
    expect(res.upstream?.headers["x-user-context"]).toBeUndefined();
  });

  it("of a user carries the user's sub, email and roles to the upstream", async () => {
    const res = await send("/api/things", bearer(await stack.idp().mintUserToken("alice")));
    expect(res.status).toBe(200);
    expect(res.upstream).toBeDefined();
    expect(res.upstream?.headers["x-user-sub"]).toBe("alice");
    expect(res.upstream?.headers["x-user-email"]).toBe("alice@example.com");
    expect(String(res.upstream?.headers["x-user-roles"])).toMatch(/admin/);
  });

  it("reaches the upstream without the client's Authorization header", async () => {
    const res = await send("/api/things", bearer(await stack.clientCredentialsToken()));
    expect(res.status).toBe(200);
    expect(res.upstream).toBeDefined();
    expect(res.upstream?.headers["x-client-id"]).toBe("demo-cli");
    expect(res.upstream?.headers["authorization"]).toBeUndefined();
  });

  it("is let through on the path Envoy normalised (/api/../api/x reaches /api/x)", async () => {
    const res = await send("/public/../api/x", bearer(await stack.clientCredentialsToken()));
    expect(res.status).toBe(200);
    expect(res.upstream).toBeDefined();
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
    expect(res.upstream).toBeDefined();
    expect(JSON.stringify(res.upstream?.headers)).not.toContain("attacker");
    expect(res.upstream?.headers["x-user-roles"]).toBeUndefined();
  });

  it("an underscore variant (x_user_sub) is refused by Envoy with 400 before anything else sees it", async () => {
    const res = await send("/api/things", { ...bearer(await stack.clientCredentialsToken()), x_user_sub: "attacker" });
    expect(res.status).toBe(400);
    expect(res.upstream).toBeUndefined();
  });
});

describe("invalid tokens are refused with 401 invalid_token and their code, never reaching the upstream", () => {
  const now = () => Math.floor(Date.now() / 1000);

  const cases: [string, string, () => Promise<string>][] = [
    ["an expired token", "token_expired", () => stack.signToken({ iat: now() - 3600, exp: now() - 600 })],
    ["a token not valid yet (nbf in the future)", "token_not_yet_valid", () => stack.signToken({ nbf: now() + 600 })],
    [
      "a token issued in the future (iat beyond clock tolerance)",
      "token_issued_in_future",
      () => stack.signToken({ iat: now() + 600, exp: now() + 900 }),
    ],
    ["a token for another audience", "audience_mismatch", () => stack.signToken({ aud: "some-other-api" })],
    ["a token from another issuer", "issuer_mismatch", () => stack.signToken({ iss: "http://127.0.0.1:1/evil" })],
    [
      "a token with alg none and no signature",
      "alg_not_allowed",
      async () => {
        const valid = await stack.clientCredentialsToken();
        return `${b64url({ alg: "none", typ: "JWT" })}.${valid.split(".")[1]}.`;
      },
    ],
    [
      "an HS256 token signed with the IdP's RSA public key as the HMAC secret",
      "alg_not_allowed",
      async () => {
        const kid = JSON.parse(Buffer.from((await stack.signToken()).split(".")[0] as string, "base64url").toString())
          .kid as string;
        return new SignJWT({ iss: stack.issuer, aud: stack.audience, sub: "attacker", exp: now() + 300, iat: now() })
          .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid })
          .sign(new TextEncoder().encode(stack.publicKeyPem()));
      },
    ],
    [
      "a token signed by a key the IdP does not publish (unknown kid)",
      "key_not_found",
      async () => {
        const stranger = await createSigningJwk("not-a-published-kid");
        const now_ = now();
        return new SignJWT({ iss: stack.issuer, aud: stack.audience, sub: "attacker", exp: now_ + 300, iat: now_ })
          .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: stranger.kid })
          .sign(await importJWK(stranger, "RS256"));
      },
    ],
    [
      "a token signed by a foreign key under the IdP's own kid",
      "signature_invalid",
      async () => {
        const kid = JSON.parse(Buffer.from((await stack.signToken()).split(".")[0] as string, "base64url").toString())
          .kid as string;
        const stranger = await createSigningJwk(kid);
        return new SignJWT({ iss: stack.issuer, aud: stack.audience, sub: "attacker", exp: now() + 300, iat: now() })
          .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid })
          .sign(await importJWK(stranger, "RS256"));
      },
    ],
    [
      "a valid token whose signature was tampered with",
      "signature_invalid",
      async () => {
        const [h, p, s] = (await stack.clientCredentialsToken()).split(".") as [string, string, string];
        const flipped = s[10] === "A" ? "B" : "A";
        return `${h}.${p}.${s.slice(0, 10)}${flipped}${s.slice(11)}`;
      },
    ],
    [
      "a valid token whose payload was altered (sub changed)",
      "signature_invalid",
      async () => {
        const [h, p, s] = (await stack.clientCredentialsToken()).split(".") as [string, string, string];
        const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
        return `${h}.${b64url({ ...claims, sub: "admin" })}.${s}`;
      },
    ],
    ["a string that is not a JWT", "token_malformed", async () => "not-a-jwt"],
    [
      "a DPoP-bound token (cnf.jkt) presented as a bearer token",
      "type_not_allowed",
      () => stack.signToken({ cnf: { jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } }),
    ],
    [
      "an mTLS-bound token (cnf x5t#S256) presented as a bearer token",
      "type_not_allowed",
      () => stack.signToken({ cnf: { "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" } }),
    ],
    [
      "an ID token (nonce, at_hash) for the API's audience",
      "type_not_allowed",
      () => stack.signToken({ nonce: "n-0S6", at_hash: "77QmUPtjPfzWtF2AnpK9RQ" }, { typ: "JWT" }),
    ],
  ];

  it.each(cases)("%s: %s", async (_name, code, makeToken) => {
    const res = await send("/api/things", bearer(await makeToken()));
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe(code);
    expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer\b.*error="invalid_token"/);
    expect(res.upstream).toBeUndefined();
  });
});

describe("requests no Portcullis route matches are denied with 403 route_not_found", () => {
  it("an unknown host is denied even with a valid token", async () => {
    const res = await send("/api/things", {
      ...bearer(await stack.clientCredentialsToken()),
      host: "unknown.example.com",
    });
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe("route_not_found");
    expect(res.upstream).toBeUndefined();
  });

  it("an unmatched path is denied even with a valid token", async () => {
    const res = await send("/elsewhere", bearer(await stack.clientCredentialsToken()));
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe("route_not_found");
    expect(res.upstream).toBeUndefined();
  });

  it("a path that only shares a prefix with a route (/apix) is denied", async () => {
    const res = await send("/apix", bearer(await stack.clientCredentialsToken()));
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe("route_not_found");
    expect(res.upstream).toBeUndefined();
  });
});

describe("what a client gets back on a denial", () => {
  it.each([
    ["no token", {}, 401, "token_missing"],
    ["a malformed token", { authorization: "Bearer not-a-jwt" }, 401, "token_malformed"],
    ["an unknown host", { host: "unknown.example.com" }, 403, "route_not_found"],
  ] as const)(
    "is a small JSON body {error, error_description} with content-type application/json (%s)",
    async (_name, headers, status, code) => {
      const res = await send("/api/things", { ...headers });
      expect(res.status).toBe(status);
      expect(String(res.headers["content-type"])).toMatch(/^application\/json\b/);
      expect(res.json).toEqual({ error: code, error_description: expect.any(String) });
      expect(res.body.length).toBeLessThan(200);
      expect(res.upstream).toBeUndefined();
    },
  );
});

describe("what Envoy decides before Portcullis is asked", () => {
  it("/oauth2/anything is routed to Portcullis's auth listener with ext_authz bypassed (its JSON 404, not a 401)", async () => {
    const checksBefore = await stack.metric("portcullis_checks_total");
    const res = await send("/oauth2/anything");
    expect(res.status).toBe(404);
    expect(String(res.headers["content-type"])).toMatch(/^application\/json\b/);
    expect(errorCode(res)).toBe("not_found");
    expect(res.headers["www-authenticate"]).toBeUndefined();
    expect(res.upstream).toBeUndefined();
    expect(await stack.metric("portcullis_checks_total")).toBe(checksBefore);
  });

  it("/oauth2/../api/x without a token is still refused with 401 (Envoy normalises the path before routing)", async () => {
    const res = await send("/oauth2/../api/x");
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe("token_missing");
    expect(res.upstream).toBeUndefined();
  });

  it("an encoded slash (/public/..%2Fapi/x) is refused by Envoy with 400 and reaches neither Portcullis nor the upstream", async () => {
    const checksBefore = await stack.metric("portcullis_checks_total");
    const seenBefore = stack.upstream.requests().length;
    const res = await send("/public/..%2Fapi/x");
    expect(res.status).toBe(400);
    expect(res.upstream).toBeUndefined();
    expect(stack.upstream.requests().length).toBe(seenBefore);
    expect(await stack.metric("portcullis_checks_total")).toBe(checksBefore);
  });
});

describe("metrics", () => {
  it("count allowed and denied checks by route and reason", async () => {
    const denied = { decision: "deny", reason: "token_missing", route: "api" };
    const allowed = { decision: "allow", reason: "authenticated", route: "api" };
    const expired = { decision: "deny", reason: "token_expired", route: "api" };
    const token = await stack.clientCredentialsToken();
    const now = Math.floor(Date.now() / 1000);
    const stale = await stack.signToken({ iat: now - 3600, exp: now - 600 });
    const before = {
      denied: await stack.metric("portcullis_checks_total", denied),
      allowed: await stack.metric("portcullis_checks_total", allowed),
      expired: await stack.metric("portcullis_checks_total", expired),
    };

    expect((await send("/api/metrics-1")).status).toBe(401);
    expect((await send("/api/metrics-2", bearer(token))).status).toBe(200);
    expect((await send("/api/metrics-3", bearer(token))).status).toBe(200);
    expect((await send("/api/metrics-4", bearer(stale))).status).toBe(401);

    expect(await stack.metric("portcullis_checks_total", denied)).toBe(before.denied + 1);
    expect(await stack.metric("portcullis_checks_total", allowed)).toBe(before.allowed + 2);
    expect(await stack.metric("portcullis_checks_total", expired)).toBe(before.expired + 1);
  });

  it("count a second check of the same token as a token-cache hit", async () => {
    const token = await stack.clientCredentialsToken();
    const lookups = async () => ({
      hit: await stack.metric("portcullis_token_cache_lookups_total", { result: "hit" }),
      miss: await stack.metric("portcullis_token_cache_lookups_total", { result: "miss" }),
    });
    const before = await lookups();
    expect((await send("/api/cache-1", bearer(token))).status).toBe(200);
    const afterFirst = await lookups();
    expect((await send("/api/cache-2", bearer(token))).status).toBe(200);
    const afterSecond = await lookups();

    expect(afterFirst).toEqual({ hit: before.hit, miss: before.miss + 1 });
    expect(afterSecond).toEqual({ hit: before.hit + 1, miss: before.miss + 1 });
  });
});
