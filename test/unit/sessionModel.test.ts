import { describe, it, expect } from "vitest";
import { parseSession, type Session } from "../../src/session/Session.ts";
import { parseLoginTransaction, type LoginTransaction } from "../../src/session/LoginTransaction.ts";

const session: Session = {
  v: 1,
  id: "s-1",
  provider: "main",
  iss: "https://idp.example.com",
  sub: "alice",
  sid: "sid-1",
  claims: { email: "alice@example.com", roles: ["user"] },
  accessToken: "at",
  accessTokenExpiresAt: 1_700_000_300,
  accessTokenIssuedAt: 1_700_000_000,
  refreshToken: "rt",
  idToken: "idt",
  authTime: 1_700_000_000,
  createdAt: 1_700_000_000,
  expiresAt: 1_700_028_800,
};

const txn: LoginTransaction = {
  state: "st",
  nonce: "no",
  codeVerifier: "cv",
  returnTo: "https://app.example.com/orders?x=1",
  provider: "main",
  createdAt: 1_700_000_000,
};

function withField(base: object, key: string, value: unknown): Record<string, unknown> {
  return { ...base, [key]: value };
}

function without(base: object, key: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...base };
  delete copy[key];
  return copy;
}

describe("parseSession", () => {
  it("accepts a well-formed session and returns an equal copy", () => {
    const parsed = parseSession({ ...session });
    expect(parsed).toEqual(session);
  });

  it("accepts null refresh token, ID token and auth time", () => {
    const parsed = parseSession({ ...session, refreshToken: null, idToken: null, authTime: null });
    expect(parsed?.refreshToken).toBeNull();
    expect(parsed?.idToken).toBeNull();
    expect(parsed?.authTime).toBeNull();
  });

  it("keeps the scopes an incremental consent added, when there are any", () => {
    expect(parseSession({ ...session, consented: ["reports.read"] })?.consented).toEqual(["reports.read"]);
    expect(parseSession({ ...session })).not.toHaveProperty("consented");
  });

  it("rejects another version", () => {
    expect(parseSession(withField(session, "v", 2))).toBeNull();
    expect(parseSession(withField(session, "v", "1"))).toBeNull();
  });

  it("rejects a missing required field", () => {
    for (const key of Object.keys(session)) {
      if (key === "sid") continue;
      expect(parseSession(without(session, key)), key).toBeNull();
    }
  });

  it("reads a session sealed before sid was kept as one without a sid", () => {
    expect(parseSession(without(session, "sid"))?.sid).toBeNull();
    expect(parseSession(withField(session, "sid", 42))).toBeNull();
  });

  it("rejects an unknown field", () => {
    expect(parseSession(withField(session, "admin", true))).toBeNull();
  });

  it("rejects wrong types field by field", () => {
    const wrong: Array<[string, unknown]> = [
      ["id", 1],
      ["id", ""],
      ["provider", null],
      ["iss", ["x"]],
      ["sub", 42],
      ["claims", null],
      ["claims", ["email"]],
      ["claims", "x"],
      ["accessToken", ""],
      ["accessTokenExpiresAt", "1700000300"],
      ["accessTokenExpiresAt", -1],
      ["accessTokenIssuedAt", "1700000000"],
      ["refreshToken", 7],
      ["refreshToken", ""],
      ["idToken", {}],
      ["authTime", "now"],
      ["createdAt", null],
      ["expiresAt", Number.POSITIVE_INFINITY],
      ["expiresAt", Number.NaN],
      ["consented", "reports.read"],
      ["consented", [""]],
      ["consented", Array.from({ length: 65 }, (_, i) => `s${i}`)],
    ];
    for (const [key, value] of wrong) {
      expect(parseSession(withField(session, key, value)), `${key}=${String(value)}`).toBeNull();
    }
  });

  it("rejects something that is not a plain object", () => {
    expect(parseSession([] as unknown as Record<string, unknown>)).toBeNull();
    expect(parseSession(null as unknown as Record<string, unknown>)).toBeNull();
  });
});

describe("parseLoginTransaction", () => {
  it("accepts a well-formed transaction with and without the optional fields", () => {
    expect(parseLoginTransaction({ ...txn })).toEqual(txn);
    const full = { ...txn, acrValues: ["urn:mfa"], maxAge: 300, scopes: ["reports.read"] };
    expect(parseLoginTransaction(full)).toEqual(full);
  });

  it("rejects a missing required field", () => {
    for (const key of Object.keys(txn)) {
      expect(parseLoginTransaction(without(txn, key)), key).toBeNull();
    }
  });

  it("rejects an unknown field", () => {
    expect(parseLoginTransaction(withField(txn, "extra", 1))).toBeNull();
  });

  it("rejects a returnTo that is not an absolute http(s) URL", () => {
    for (const returnTo of ["/orders", "javascript:alert(1)", "ftp://x.example/", ""]) {
      expect(parseLoginTransaction(withField(txn, "returnTo", returnTo)), returnTo).toBeNull();
    }
  });

  it("rejects wrong types field by field", () => {
    const wrong: Array<[string, unknown]> = [
      ["state", 1],
      ["nonce", ""],
      ["codeVerifier", null],
      ["provider", {}],
      ["createdAt", "1700000000"],
      ["acrValues", "urn:mfa"],
      ["acrValues", [1]],
      ["acrValues", [""]],
      ["maxAge", -1],
      ["maxAge", 1.5],
      ["maxAge", "300"],
      ["scopes", "reports.read"],
      ["scopes", []],
      ["scopes", [""]],
    ];
    for (const [key, value] of wrong) {
      expect(parseLoginTransaction(withField(txn, key, value)), `${key}=${String(value)}`).toBeNull();
    }
  });
});
