// The logout-token rules of OpenID Connect Back-Channel Logout 1.0 (section 2.6), one by one, on real
// JWTs signed with a test key: what must be there, what must not, and what an attacker might reuse.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import {
  BACKCHANNEL_LOGOUT_EVENT,
  verifyLogoutToken,
  type LogoutTokenExpectations,
} from "../../src/oidc/verifyLogoutToken.ts";

const ISSUER = "https://idp.example.com/realms/main";
const CLIENT = "portcullis-web";
const NOW = Date.UTC(2026, 10, 23, 12) / 1000;

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
let key: PrivateKey;
let expect_: LogoutTokenExpectations;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  key = pair.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256" };
  expect_ = {
    keys: createLocalJWKSet({ keys: [jwk] }),
    issuer: ISSUER,
    clientId: CLIENT,
    algorithms: ["RS256"],
    clockToleranceSeconds: 30,
    nowMs: NOW * 1000,
    maxAgeSeconds: 600,
  };
});

async function token(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: CLIENT,
    iat: NOW,
    jti: randomBytes(8).toString("hex"),
    sid: "sid-1",
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: "k1", ...header }).sign(key);
}

describe("verifyLogoutToken", () => {
  it("accepts a logout token naming a sid, a sub, or both, with or without an explicit typ", async () => {
    expect(await verifyLogoutToken(await token(), expect_)).toMatchObject({
      ok: true,
      claims: { iss: ISSUER, sid: "sid-1", sub: null, iat: NOW },
    });
    expect(await verifyLogoutToken(await token({ sid: undefined, sub: "alice" }), expect_)).toMatchObject({
      ok: true,
      claims: { sid: null, sub: "alice" },
    });
    for (const typ of ["logout+jwt", "JWT", "application/logout+jwt"]) {
      expect(await verifyLogoutToken(await token({ sub: "alice" }, { typ }), expect_), typ).toMatchObject({ ok: true });
    }
  });

  it("refuses a token whose typ names another kind of token", async () => {
    for (const typ of ["at+jwt", "id_token+jwt", "secevent+jwt"]) {
      expect(await verifyLogoutToken(await token({}, { typ }), expect_), typ).toMatchObject({
        ok: false,
        code: "logout_token_invalid",
        detail: expect.stringMatching(/typ/),
      });
    }
  });

  it("refuses a token for another client, from another issuer, or with several audiences and no azp of ours", async () => {
    expect(await verifyLogoutToken(await token({ aud: "other-client" }), expect_)).toMatchObject({
      ok: false,
      code: "logout_token_invalid",
    });
    expect(await verifyLogoutToken(await token({ iss: "https://evil.example.com" }), expect_)).toMatchObject({
      ok: false,
      code: "logout_token_invalid",
    });
    expect(await verifyLogoutToken(await token({ aud: [CLIENT, "other"] }), expect_)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/azp/),
    });
    expect(await verifyLogoutToken(await token({ aud: [CLIENT, "other"], azp: CLIENT }), expect_)).toMatchObject({
      ok: true,
    });
  });

  it("refuses a token without iat or jti, without the back-channel logout event, or with neither sid nor sub", async () => {
    expect(await verifyLogoutToken(await token({ iat: undefined }), expect_)).toMatchObject({ ok: false });
    expect(await verifyLogoutToken(await token({ jti: undefined }), expect_)).toMatchObject({ ok: false });
    expect(
      await verifyLogoutToken(await token({ events: { "http://schemas.openid.net/event/other": {} } }), expect_),
    ).toMatchObject({ ok: false, detail: expect.stringMatching(/event/) });
    expect(
      await verifyLogoutToken(await token({ events: { [BACKCHANNEL_LOGOUT_EVENT]: "yes" } }), expect_),
    ).toMatchObject({ ok: false });
    expect(await verifyLogoutToken(await token({ sid: undefined }), expect_)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/sid nor sub/),
    });
  });

  it("refuses a token carrying a nonce, as an ID token would", async () => {
    expect(await verifyLogoutToken(await token({ nonce: "n-1" }), expect_)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/nonce/),
    });
  });

  it("refuses a token issued more than ten minutes ago, one from the future, and one past its exp", async () => {
    expect(await verifyLogoutToken(await token({ iat: NOW - 700 }), expect_)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/old/),
    });
    expect(await verifyLogoutToken(await token({ iat: NOW + 120 }), expect_)).toMatchObject({ ok: false });
    expect(await verifyLogoutToken(await token({ exp: NOW - 60 }), expect_)).toMatchObject({ ok: false });
  });

  it("refuses a token signed by another key or with an algorithm outside the allowlist", async () => {
    const other = await generateKeyPair("RS256");
    const forged = await new SignJWT({
      iss: ISSUER,
      aud: CLIENT,
      iat: NOW,
      jti: "j",
      sid: "s",
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .sign(other.privateKey);
    expect(await verifyLogoutToken(forged, expect_)).toMatchObject({ ok: false, code: "logout_token_invalid" });
    const hs = await new SignJWT({
      iss: ISSUER,
      aud: CLIENT,
      iat: NOW,
      jti: "j",
      sid: "s",
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    })
      .setProtectedHeader({ alg: "HS256" })
      .sign(randomBytes(32));
    expect(await verifyLogoutToken(hs, expect_)).toMatchObject({ ok: false, code: "logout_token_invalid" });
    expect(await verifyLogoutToken("not.a.jwt", expect_)).toMatchObject({ ok: false, code: "logout_token_invalid" });
  });
});
