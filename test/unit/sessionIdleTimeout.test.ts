// The idle timeout on cookie sessions, on a manual clock: a session unused for longer than
// `session.idleTimeoutSeconds` is no session; use slides it, and the last-seen time is re-sealed
// into the cookie at most once a minute; without the setting no request re-seals anything. An idle
// end is counted (by provider and reason) and logged with a digest of the session, never its id or tokens.
import { describe, expect, it } from "vitest";
import type { SessionConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { createBrowserLogin, type BrowserLoginOptions } from "../../src/login/createBrowserLogin.ts";
import { freshenSession, loadSession } from "../../src/login/freshenSession.ts";
import { parseSessionCookies } from "../../src/login/parseSessionCookies.ts";
import { parseSession, type Session } from "../../src/session/Session.ts";
import { browserLoginConfig, BROWSER_LOGIN_ISSUER } from "../harness/browserLoginConfig.ts";
import { createManualClock } from "../harness/createManualClock.ts";

function browserAt(idleTimeoutSeconds: number | null, observed: Pick<BrowserLoginOptions, "events" | "logger"> = {}) {
  const config = browserLoginConfig();
  const session: SessionConfig = { ...config.session, idleTimeoutSeconds };
  const clock = createManualClock(Date.parse("2026-06-01T08:00:00Z"));
  const login = createBrowserLogin({
    session,
    providers: Object.values(config.providers),
    loginClient: () => null,
    verifyAccessToken: async () => ({ ok: false, code: "signature_invalid", detail: "unused" }),
    clock,
    ...observed,
  });
  let jar = "";
  let setCookieResponses = 0;
  const keep = (setCookies: readonly string[]) => {
    if (setCookies.length === 0) return;
    setCookieResponses += 1;
    jar = setCookies.map((c) => c.split(";")[0]).join("; ");
  };
  return {
    clock,
    /** `withLastSeen: false` seals a session as versions before the idle timeout did. */
    async logIn(withLastSeen = true) {
      const t = login.nowSeconds();
      const { lastSeenAt, ...older } = sessionAt(t);
      keep(await login.store.create(withLastSeen ? { ...older, lastSeenAt } : older, new Map(), t));
    },
    /** One request as the Gate makes it: load, then the refresh check; Set-Cookie goes back into the jar. */
    async request(): Promise<{ kind: string; setCookies: readonly string[] }> {
      const loaded = await loadSession(login, parseSessionCookies(jar));
      if (loaded.kind === "invalid") return { kind: "invalid", setCookies: loaded.clear };
      if (loaded.kind !== "session") return { kind: loaded.kind, setCookies: [] };
      const fresh = await freshenSession(login, loaded.session, loaded.present);
      if (fresh.kind !== "fresh") return { kind: fresh.kind, setCookies: [] };
      keep(fresh.setCookies);
      return { kind: "session", setCookies: fresh.setCookies };
    },
    setCookieResponses: () => setCookieResponses,
  };
}

function sessionAt(t: number): Session {
  return {
    v: 1,
    id: "session-id-0123456789",
    provider: "corp",
    iss: BROWSER_LOGIN_ISSUER,
    sub: "alice",
    sid: null,
    claims: { sub: "alice" },
    accessToken: "at",
    // Far from expiry: no refresh gets in the way.
    accessTokenExpiresAt: t + 86_400,
    accessTokenIssuedAt: t,
    refreshToken: null,
    idToken: null,
    authTime: t,
    createdAt: t,
    expiresAt: t + 86_400,
    lastSeenAt: t,
  };
}

describe("session idle timeout (cookie store)", () => {
  it("counts and logs a session ended for idleness: provider, reason and a digest, never its id or tokens", async () => {
    const ended: Array<[string, string]> = [];
    const lines: Array<{ obj: object; msg: string }> = [];
    const browser = browserAt(600, {
      events: {
        loginStarted: () => undefined,
        loginCompleted: () => undefined,
        loginFailed: () => undefined,
        refreshed: () => undefined,
        sessionEnded: (provider, reason) => void ended.push([provider, reason]),
      },
      logger: { warn: () => undefined, info: (obj, msg) => void lines.push({ obj, msg }) },
    });
    await browser.logIn();
    browser.clock.advance(599_000);
    expect((await browser.request()).kind).toBe("session");
    expect(ended).toEqual([]);
    browser.clock.advance(600_000);
    expect((await browser.request()).kind).toBe("invalid");

    expect(ended).toEqual([["corp", "idle"]]);
    const idleLines = lines.filter((l) => l.msg === "session ended: idle");
    expect(idleLines).toHaveLength(1);
    expect(idleLines[0]?.obj).toEqual({
      provider: "corp",
      session: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/) as unknown,
      idleSeconds: 600,
      idleTimeoutSeconds: 600,
    });
    const text = JSON.stringify(idleLines);
    for (const secret of ["session-id-0123456789", "alice", '"at"']) expect(text).not.toContain(secret);
  });

  it("ends a session unused for longer than the idle timeout and clears its cookie", async () => {
    const browser = browserAt(600);
    await browser.logIn();
    browser.clock.advance(600_000);
    const out = await browser.request();
    expect(out.kind).toBe("invalid");
    expect(out.setCookies.length).toBeGreaterThan(0);
    expect(out.setCookies.every((c) => /Max-Age=0/i.test(c))).toBe(true);
  });

  it("keeps a session used within the idle timeout, long past one timeout from login", async () => {
    const browser = browserAt(600);
    await browser.logIn();
    for (let i = 0; i < 12; i++) {
      browser.clock.advance(300_000);
      expect((await browser.request()).kind).toBe("session");
    }
    // An hour after login, used every five minutes: still a session, until it sits idle.
    browser.clock.advance(599_000);
    expect((await browser.request()).kind).toBe("session");
    browser.clock.advance(600_000);
    expect((await browser.request()).kind).toBe("invalid");
  });

  it("re-seals the last-seen time at most once a minute however busy the session", async () => {
    const browser = browserAt(600);
    await browser.logIn();
    const afterLogin = browser.setCookieResponses();
    // A request every ten seconds for five minutes: 30 requests, a new cookie each full minute.
    for (let i = 0; i < 30; i++) {
      browser.clock.advance(10_000);
      expect((await browser.request()).kind).toBe("session");
    }
    expect(browser.setCookieResponses() - afterLogin).toBe(5);
  });

  it("without an idle timeout, never re-seals and keeps an unused session until its lifetime", async () => {
    const browser = browserAt(null);
    await browser.logIn();
    const afterLogin = browser.setCookieResponses();
    for (let i = 0; i < 10; i++) {
      browser.clock.advance(61_000);
      expect((await browser.request()).kind).toBe("session");
    }
    browser.clock.advance(20 * 3_600_000);
    expect((await browser.request()).kind).toBe("session");
    expect(browser.setCookieResponses()).toBe(afterLogin);
  });

  it("counts a session sealed before last-seen was kept as idle since its creation", async () => {
    const { lastSeenAt: _, ...older } = sessionAt(0);
    expect(parseSession({ ...older })).not.toBeNull();
    expect(parseSession({ ...older, lastSeenAt: -1 })).toBeNull();
    const used = browserAt(600);
    await used.logIn(false);
    used.clock.advance(599_000);
    expect((await used.request()).kind).toBe("session");
    const idle = browserAt(600);
    await idle.logIn(false);
    idle.clock.advance(600_000);
    expect((await idle.request()).kind).toBe("invalid");
  });
});

describe("session.idleTimeoutSeconds config", () => {
  const base = {
    routes: [{ name: "app", match: { path: "/" }, auth: "public" }],
  };

  it("defaults to no idle timeout", () => {
    const parsed = parseConfig(base);
    expect(parsed.ok && parsed.config.session.idleTimeoutSeconds).toBeNull();
  });

  it.each([30, 59.5, "600"])("refuses %j with the key path and a fix", (value) => {
    const parsed = parseConfig({ ...base, session: { idleTimeoutSeconds: value } });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toContainEqual(
      expect.objectContaining({ path: "session.idleTimeoutSeconds", message: expect.stringMatching(/60 to 2592000/) }),
    );
  });
});
