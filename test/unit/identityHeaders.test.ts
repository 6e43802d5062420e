import { describe, it, expect } from "vitest";
import type { IdentityConfig } from "../../src/config/PortcullisConfig.ts";
import { createIdentityHeaders } from "../../src/identity/IdentityHeaders.ts";
import { DEFAULT_IDENTITY_HEADER_NAMES } from "../harness/defaultIdentityHeaderNames.ts";

const DEFAULTS: IdentityConfig = {
  headers: DEFAULT_IDENTITY_HEADER_NAMES,
  roleClaims: ["roles", "realm_access.roles", "groups", "cognito:groups"],
  claimHeaders: {},
  context: {
    enabled: true,
    fields: { id: "sub", email: "email", scopes: "scopes", roles: "roles", exp: "exp" },
  },
  maxHeaderBytes: 4096,
  forwardAuthorization: false,
};

function config(overrides: Partial<IdentityConfig> = {}): IdentityConfig {
  return { ...DEFAULTS, ...overrides };
}

function headersFor(claims: Record<string, unknown>, cfg: IdentityConfig = DEFAULTS): Map<string, string> {
  return new Map(createIdentityHeaders(cfg).build(claims));
}

function decodeContext(value: string | undefined): Record<string, unknown> {
  expect(value).toBeDefined();
  expect(value).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
  return JSON.parse(Buffer.from(value as string, "base64").toString("utf8")) as Record<string, unknown>;
}

describe("identity headers: owned headers", () => {
  it("lists every header Portcullis owns, lower-case, including claim headers", () => {
    const identity = createIdentityHeaders(config({ claimHeaders: { "X-Tenant": "tenant", "x-user-name": "name" } }));
    expect([...identity.ownedHeaders].sort()).toEqual(
      ["x-client-id", "x-tenant", "x-user-context", "x-user-email", "x-user-name", "x-user-roles", "x-user-sub"].sort(),
    );
  });

  it("gives a machine caller its client id and no x-user-* header made from it", () => {
    const identity = createIdentityHeaders(config({ claimHeaders: { "x-tenant": "tenant" } }));
    const built = new Map(
      identity.build({ sub: "batch", client_id: "batch", scope: "api.read", tenant: "acme", roles: ["ops"] }, "client"),
    );
    expect([...built.entries()]).toEqual([
      ["x-client-id", "batch"],
      ["x-tenant", "acme"],
    ]);
  });

  it("tells a person's client id (azp when there is no client_id) next to the user headers", () => {
    const built = new Map(createIdentityHeaders(config()).build({ sub: "alice", azp: "web-app" }));
    expect(built.get("x-client-id")).toBe("web-app");
    expect(built.get("x-user-sub")).toBe("alice");
  });

  it("owns the context header even when the context is disabled", () => {
    const identity = createIdentityHeaders(config({ context: { enabled: false, fields: {} } }));
    expect(identity.ownedHeaders).toContain("x-user-context");
  });

  it("uses configured header names", () => {
    const identity = createIdentityHeaders(
      config({ headers: { sub: "x-sub", email: "x-mail", roles: "x-groups", context: "x-ctx", clientId: "x-app" } }),
    );
    expect([...identity.ownedHeaders].sort()).toEqual(["x-app", "x-ctx", "x-groups", "x-mail", "x-sub"]);
    const built = new Map(identity.build({ sub: "u1", email: "u@example.com", roles: ["r"] }));
    expect(built.get("x-sub")).toBe("u1");
    expect(built.get("x-mail")).toBe("u@example.com");
    expect(built.get("x-groups")).toBe("r");
    expect(built.has("x-ctx")).toBe(true);
  });

  it("refuses a configuration where two headers share a name", () => {
    expect(() => createIdentityHeaders(config({ claimHeaders: { "x-user-sub": "name" } }))).toThrow(/distinct/);
  });

  it("sets only owned headers", () => {
    const identity = createIdentityHeaders(config({ claimHeaders: { "x-tenant": "tenant" } }));
    const built = identity.build({ sub: "u", email: "e@x", roles: ["a"], tenant: "t", scope: "s", exp: 1 });
    for (const [name] of built) expect(identity.ownedHeaders).toContain(name);
  });
});

describe("identity headers: subject and email", () => {
  it("sets x-user-sub from sub", () => {
    expect(headersFor({ sub: "user-1", client_id: "c" }).get("x-user-sub")).toBe("user-1");
  });

  it("never takes x-user-sub from client_id or azp, so a client cannot pass as a user of the same name", () => {
    expect(headersFor({ client_id: "alice", azp: "alice" }).has("x-user-sub")).toBe(false);
    expect(headersFor({ azp: "svc-b" }).has("x-user-sub")).toBe(false);
    expect(headersFor({}).has("x-user-sub")).toBe(false);
  });

  it("sets x-user-email only from a string email", () => {
    expect(headersFor({ sub: "u", email: "a@example.com" }).get("x-user-email")).toBe("a@example.com");
    expect(headersFor({ sub: "u", email: ["a@example.com"] }).has("x-user-email")).toBe(false);
    expect(headersFor({ sub: "u", email: "" }).has("x-user-email")).toBe(false);
  });

  it("leaves out a subject or email it cannot send verbatim rather than altering it", () => {
    const built = headersFor({ sub: "alice\r\nx-admin: 1", email: "a@example.com\u0000" });
    expect(built.has("x-user-sub")).toBe(false);
    expect(built.has("x-user-email")).toBe(false);
    const tooLong = headersFor({ sub: "s".repeat(300) }, config({ maxHeaderBytes: 256 }));
    expect(tooLong.has("x-user-sub")).toBe(false);
  });
});

describe("identity headers: roles", () => {
  it("reads realm_access.roles, groups and cognito:groups", () => {
    expect(headersFor({ realm_access: { roles: ["a", "b"] } }).get("x-user-roles")).toBe("a,b");
    expect(headersFor({ groups: ["g"] }).get("x-user-roles")).toBe("g");
    expect(headersFor({ "cognito:groups": ["cg"] }).get("x-user-roles")).toBe("cg");
  });

  it("merges every role claim in configured order without duplicates", () => {
    const claims = {
      roles: ["admin", "user"],
      realm_access: { roles: ["user", "auditor"] },
      groups: ["admin", "ops"],
      "cognito:groups": ["ops", "billing"],
    };
    expect(headersFor(claims).get("x-user-roles")).toBe("admin,user,auditor,ops,billing");
  });

  it("accepts a single string role claim", () => {
    expect(headersFor({ roles: "admin" }).get("x-user-roles")).toBe("admin");
  });

  it("reads configured namespaced and per-client role claims", () => {
    const cfg = config({ roleClaims: ["https://example.com/roles", "resource_access.app.roles"] });
    const claims = {
      "https://example.com/roles": ["ns-role"],
      resource_access: { app: { roles: ["client-role"] }, other: { roles: ["not-mine"] } },
      roles: ["unconfigured"],
    };
    expect(headersFor(claims, cfg).get("x-user-roles")).toBe("ns-role,client-role");
  });

  it("drops roles containing a comma, control characters or surrounding spaces", () => {
    const claims = { roles: ["a,b", "ok", "bad\nrole", " padded", "", 7, { x: 1 }, "also-ok"] };
    expect(headersFor(claims).get("x-user-roles")).toBe("ok,also-ok");
  });

  it("does not set x-user-roles when there are no roles", () => {
    expect(headersFor({ sub: "u" }).has("x-user-roles")).toBe(false);
    expect(headersFor({ sub: "u", roles: [] }).has("x-user-roles")).toBe(false);
    expect(headersFor({ sub: "u", roles: { admin: true } }).has("x-user-roles")).toBe(false);
  });

  it("drops whole roles from the end when the list is over the size bound", () => {
    const roles = Array.from({ length: 100 }, (_, i) => `role-${String(i).padStart(3, "0")}`);
    const value = headersFor({ roles }, config({ maxHeaderBytes: 256 })).get("x-user-roles") as string;
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(256);
    const kept = value.split(",");
    expect(kept).toEqual(roles.slice(0, kept.length));
    expect(kept.length).toBe(Math.floor((256 + 1) / 9));
  });
});

describe("identity headers: claim headers", () => {
  const cfg = config({
    claimHeaders: {
      "x-name": "name",
      "x-tenant": "https://example.com/tenant",
      "x-level": "level",
      "x-verified": "email_verified",
      "x-teams": "teams",
      "x-address": "address",
      "x-missing": "nope",
    },
  });

  it("sends strings, numbers and booleans as text, string lists comma-joined, objects as JSON", () => {
    const built = headersFor(
      {
        name: "Ada Lovelace",
        "https://example.com/tenant": "t-42",
        level: 3,
        email_verified: false,
        teams: ["red", "blue"],
        address: { country: "UK" },
      },
      cfg,
    );
    expect(built.get("x-name")).toBe("Ada Lovelace");
    expect(built.get("x-tenant")).toBe("t-42");
    expect(built.get("x-level")).toBe("3");
    expect(built.get("x-verified")).toBe("false");
    expect(built.get("x-teams")).toBe("red,blue");
    expect(built.get("x-address")).toBe('{"country":"UK"}');
    expect(built.has("x-missing")).toBe(false);
  });

  it("removes CR, LF, NUL and other control characters but keeps tabs", () => {
    const built = headersFor({ name: "Ada\r\nx-admin: true\u0000\u0007\tL" }, cfg);
    expect(built.get("x-name")).toBe("Adax-admin: true\tL");
  });

  it("does not set a header whose value is empty after sanitising", () => {
    const built = headersFor({ name: "\r\n", teams: [] }, cfg);
    expect(built.has("x-name")).toBe(false);
    expect(built.has("x-teams")).toBe(false);
  });

  it("cuts long values to maxHeaderBytes without splitting a multi-byte character", () => {
    // "é" is 2 bytes and "€" 3 bytes in UTF-8: 255 is not a character boundary in either string.
    for (const name of ["é".repeat(200), "a" + "€".repeat(100)]) {
      const value = headersFor({ name }, config({ ...cfg, maxHeaderBytes: 256 })).get("x-name") as string;
      const bytes = Buffer.byteLength(value);
      expect(bytes).toBeLessThanOrEqual(256);
      expect(bytes).toBeGreaterThanOrEqual(254);
      expect(value).not.toContain("\ufffd");
      expect(name.startsWith(value)).toBe(true);
    }
  });
});

describe("identity headers: x-user-context", () => {
  it("encodes the default shape as standard base64 JSON", () => {
    const built = headersFor({
      sub: "user-1",
      email: "u@example.com",
      scope: "openid orders:read",
      roles: ["admin"],
      groups: ["ops"],
      exp: 1_900_000_000,
    });
    expect(decodeContext(built.get("x-user-context"))).toEqual({
      id: "user-1",
      email: "u@example.com",
      scopes: ["openid", "orders:read"],
      roles: ["admin", "ops"],
      exp: 1_900_000_000,
    });
  });

  it("uses standard base64, not base64url", () => {
    // "\u00fb\u00ff" JSON-encodes to bytes that produce "+" and "/" in standard base64.
    const built = headersFor({ sub: "??>>\u00fb\u00ff" });
    const value = built.get("x-user-context") as string;
    expect(value).toMatch(/[+/]/);
    expect(value).not.toMatch(/[-_]/);
    expect(decodeContext(value)["id"]).toBe("??>>\u00fb\u00ff");
  });

  it("keeps the shape stable when claims are missing", () => {
    expect(decodeContext(headersFor({}).get("x-user-context"))).toEqual({
      id: null,
      email: null,
      scopes: [],
      roles: [],
      exp: null,
    });
  });

  it("reads scopes from scp as an array or a string", () => {
    expect(decodeContext(headersFor({ scp: ["a", "b"] }).get("x-user-context"))["scopes"]).toEqual(["a", "b"]);
    expect(decodeContext(headersFor({ scp: "a b" }).get("x-user-context"))["scopes"]).toEqual(["a", "b"]);
    expect(decodeContext(headersFor({ scope: "x  y" }).get("x-user-context"))["scopes"]).toEqual(["x", "y"]);
  });

  it("leaves the context id null for a token without sub, even when it names a client", () => {
    expect(decodeContext(headersFor({ client_id: "svc" }).get("x-user-context"))["id"]).toBeNull();
  });

  it("fills configured fields, copying claim:<path> values as JSON", () => {
    const cfg = config({
      context: {
        enabled: true,
        fields: {
          user: "sub",
          client: "client_id",
          tenant: "claim:https://example.com/tenant",
          address: "claim:address",
          missing: "claim:nope",
        },
      },
    });
    const claims = { sub: "u", azp: "web", "https://example.com/tenant": "t1", address: { country: "UK" } };
    expect(decodeContext(headersFor(claims, cfg).get("x-user-context"))).toEqual({
      user: "u",
      client: "web",
      tenant: "t1",
      address: { country: "UK" },
      missing: null,
    });
  });

  it("refuses an unknown context source", () => {
    const cfg = config({ context: { enabled: true, fields: { x: "nickname" } } });
    expect(() => createIdentityHeaders(cfg)).toThrow(/identity\.context\.fields\.x/);
  });

  it("is not set when the context is disabled", () => {
    const cfg = config({ context: { enabled: false, fields: DEFAULTS.context.fields } });
    expect(headersFor({ sub: "u" }, cfg).has("x-user-context")).toBe(false);
  });

  it("drops roles and scopes from the end until the context fits, instead of cutting base64", () => {
    const roles = Array.from({ length: 200 }, (_, i) => `role-${i}`);
    const scope = Array.from({ length: 50 }, (_, i) => `scope-${i}`).join(" ");
    const value = headersFor({ sub: "u", roles, scope, exp: 5 }, config({ maxHeaderBytes: 512 })).get(
      "x-user-context",
    ) as string;
    expect(value.length).toBeLessThanOrEqual(512);
    const context = decodeContext(value);
    const keptRoles = context["roles"] as string[];
    const keptScopes = context["scopes"] as string[];
    expect(keptRoles).toEqual(roles.slice(0, keptRoles.length));
    expect(keptScopes.length).toBeGreaterThan(0);
    expect(keptRoles.length).toBeGreaterThan(0);
    expect(context["id"]).toBe("u");
    expect(context["exp"]).toBe(5);
  });

  it("is left out when even an empty roles and scopes list would not fit", () => {
    const built = headersFor(
      { sub: "u", address: "a".repeat(400) },
      config({
        maxHeaderBytes: 256,
        context: { enabled: true, fields: { id: "sub", address: "claim:address" } },
      }),
    );
    expect(built.has("x-user-context")).toBe(false);
    expect(built.get("x-user-sub")).toBe("u");
  });
});
