// What the back-channel logout answers when its parts fail separately. The revocation (what refuses
// the sessions everywhere) decides the answer; deleting the stored sessions afterwards is
// housekeeping. A store whose delete fails after the revocation was recorded is a fault a real
// Redis cannot be made to produce on demand between two commands, so the store is a stand-in here.
import { describe, expect, it } from "vitest";
import { backchannelLogout } from "../../src/login/backchannelLogout.ts";
import { createBrowserLogin } from "../../src/login/createBrowserLogin.ts";
import { createCookieSessionStore } from "../../src/session/createCookieSessionStore.ts";
import { createRevocationList } from "../../src/session/createRevocationList.ts";
import { SessionStoreUnavailableError, type SessionStore } from "../../src/session/SessionStore.ts";
import { browserLoginConfig } from "../harness/browserLoginConfig.ts";

const ISSUER = "https://idp.example.com";

function loginWith(store: SessionStore) {
  const config = browserLoginConfig();
  const revocations = createRevocationList({ connection: null, jtiTtlSeconds: 1200 });
  const login = createBrowserLogin({
    session: config.session,
    providers: Object.values(config.providers),
    loginClient: () => null,
    verifyAccessToken: async () => ({ ok: false, code: "signature_invalid", detail: "unused" }),
    verifyLogoutToken: async (token) => ({
      provider: "corp",
      outcome: {
        ok: true,
        claims: { iss: ISSUER, jti: token, iat: Math.floor(Date.now() / 1000), sid: "sid-1", sub: null },
      },
    }),
    store,
    revocations,
  });
  return { login, revocations };
}

describe("back-channel logout outcome", () => {
  it("answers ok when the revocation is recorded even if the stored sessions cannot be deleted yet, so the IdP does not post it again", async () => {
    const cookieStore = createCookieSessionStore({
      cookieName: "__Host-portcullis",
      cookieDomain: null,
      keys: ["k".repeat(40)],
      maxChunks: 8,
      cacheMax: 10,
    });
    const failingStore: SessionStore = {
      ...cookieStore,
      revoke: async () => {
        throw new SessionStoreUnavailableError("Redis revocation failed: Error (timeout)");
      },
    };
    const { login, revocations } = loginWith(failingStore);
    expect(await backchannelLogout(login, "jti-1")).toEqual({ kind: "ok", sessionsEnded: 0 });
    expect(revocations.isRevoked({ id: "any", provider: "corp", sid: "sid-1", sub: "u", createdAt: 0 })).toBe(true);
    // A repost of the same token is still a replay.
    expect(await backchannelLogout(login, "jti-1")).toMatchObject({
      kind: "invalid",
      detail: expect.stringMatching(/replayed/),
    });
  });

  it("lets an unexpected store fault through instead of calling it a logout", async () => {
    const cookieStore = createCookieSessionStore({
      cookieName: "__Host-portcullis",
      cookieDomain: null,
      keys: ["k".repeat(40)],
      maxChunks: 8,
      cacheMax: 10,
    });
    const broken: SessionStore = {
      ...cookieStore,
      revoke: async () => {
        throw new TypeError("bug");
      },
    };
    const { login } = loginWith(broken);
    await expect(backchannelLogout(login, "jti-2")).rejects.toThrow(TypeError);
  });
});
