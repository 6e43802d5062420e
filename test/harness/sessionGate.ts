// A Gate with browser sessions for the unit tests, on plain data: a real browser login (real
// sealing, real cookie codec) and a login client that answers from a table, standing in for the IdP
// round trips that the e2e tests drive for real through Envoy and Chromium.
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import type { Decision } from "../../src/core/Decision.ts";
import type { Gate, VerifyOutcome } from "../../src/core/Gate.ts";
import { completeLogin, type CallbackOutcome } from "../../src/login/completeLogin.ts";
import { createBrowserLogin, type BrowserLogin } from "../../src/login/createBrowserLogin.ts";
import { createSessionPort } from "../../src/login/createSessionPort.ts";
import type { LoginClientPort, TokenResult } from "../../src/login/LoginClientPort.ts";
import { parseSessionCookies } from "../../src/login/parseSessionCookies.ts";
import { LoginError } from "../../src/oidc/LoginError.ts";
import type { LoginTransaction } from "../../src/session/LoginTransaction.ts";
import { locationOf, setCookiesOf } from "./checkOutcome.ts";
import { checkRequest, gateOver } from "./checkRequest.ts";
import { createManualClock, type ManualClock } from "./createManualClock.ts";

export const ISSUER = "https://idp.example.com";
const ORIGIN = "https://app.example.com";

export interface SessionGateOptions {
  /** Extra settings of the `corp` provider (e.g. consentScopes). */
  readonly provider?: Readonly<Record<string, unknown>>;
  /** Rules placed before the default ones (first match wins). */
  readonly routes?: readonly unknown[];
}

function loadConfig(options: SessionGateOptions): PortcullisConfig {
  const parsed = parseConfig({
    providers: {
      corp: {
        issuer: ISSUER,
        audiences: ["api"],
        clientId: "web",
        clientSecret: "secret-secret",
        redirectUri: `${ORIGIN}/oauth2/callback`,
        ...options.provider,
      },
    },
    session: { keys: ["k".repeat(40)], refreshWindowSeconds: 60 },
    routes: [
      ...(options.routes ?? []),
      { name: "public", match: { path: "/public" }, auth: "public" },
      { name: "maybe", match: { path: "/maybe" }, auth: "optional" },
      { name: "reports", match: { path: "/reports" }, auth: "required", require: { scopes: ["reports.read"] } },
      { name: "vault", match: { path: "/vault" }, auth: "required", require: { acr: ["loa2"] } },
      { name: "app", match: { path: "/" }, auth: "required" },
    ],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

export interface Harness {
  gate: Gate;
  browserLogin: BrowserLogin;
  /** The tokens the next completed login returns. */
  setLoginResult(result: TokenResult): void;
  clock: ManualClock;
  refreshCalls: string[];
  refreshOutcome: { next: TokenResult | LoginError };
  /** Completes a login as `sub` with these access-token claims and returns the session's Cookie header. */
  login(sub: string, accessClaims?: Record<string, unknown>, expiresInSeconds?: number): Promise<string>;
  /** What each login began with (the Check path's and /oauth2/start's), in order. */
  readonly begins: Parameters<LoginClientPort["begin"]>[0][];
  /**
   * Completes the login `started` (a Check's 302) as the IdP would with these access-token claims
   * (and ID token claims), returning the callback's outcome. `cookie`: the browser's other cookies
   * (its session), sent with the callback beside the login's transaction cookie.
   */
  complete(
    started: Decision,
    accessClaims: Record<string, unknown>,
    idClaims?: Record<string, unknown>,
    cookie?: string,
  ): Promise<CallbackOutcome>;
}

export function harness(options: SessionGateOptions = {}): Harness {
  const config = loadConfig(options);
  const begins: Parameters<LoginClientPort["begin"]>[0][] = [];
  const clock = createManualClock(Date.UTC(2026, 10, 23, 12));
  const accessTokens = new Map<string, Record<string, unknown>>();
  const refreshCalls: string[] = [];
  const refreshOutcome: { next: TokenResult | LoginError } = {
    next: new LoginError("invalid_grant", "no refresh set up"),
  };
  let pendingResult: TokenResult | null = null;
  const client: LoginClientPort = {
    async begin(params) {
      begins.push(params);
      const transaction: LoginTransaction = {
        state: `state-${refreshCalls.length}-${Math.random()}`,
        nonce: "n",
        codeVerifier: "v".repeat(43),
        returnTo: params.returnTo,
        provider: "corp",
        createdAt: Math.floor(clock.now() / 1000),
        ...(params.acrValues ? { acrValues: [...params.acrValues] } : {}),
        ...(params.scopes && params.scopes.add.length > 0 ? { scopes: [...params.scopes.add] } : {}),
      };
      const url = new URL(`${ISSUER}/authorize`);
      url.searchParams.set("state", transaction.state);
      if (params.acrValues) url.searchParams.set("acr_values", params.acrValues.join(" "));
      if (params.prompt) url.searchParams.set("prompt", params.prompt);
      const scopes = ["openid", ...(params.scopes?.keep ?? []), ...(params.scopes?.add ?? [])];
      url.searchParams.set("scope", [...new Set(scopes)].join(" "));
      return { url: url.href, transaction };
    },
    async complete() {
      if (pendingResult === null) throw new LoginError("invalid_grant", "no login set up");
      return pendingResult;
    },
    async refresh(refreshToken) {
      refreshCalls.push(refreshToken);
      if (refreshOutcome.next instanceof LoginError) throw refreshOutcome.next;
      return refreshOutcome.next;
    },
    endSessionUrl: () => null,
  };
  const browserLogin = createBrowserLogin({
    session: config.session,
    providers: Object.values(config.providers),
    loginClient: () => client,
    verifyAccessToken: async (token, provider): Promise<VerifyOutcome> => {
      const claims = accessTokens.get(token);
      return claims
        ? { ok: true, provider, claims, expiresAt: claims["exp"] as number }
        : { ok: false, code: "signature_invalid", detail: "unknown" };
    },
    clock,
  });
  const { gate } = gateOver({
    routes: config.routes,
    policy: config.policy,
    identity: config.identity,
    tokens: {
      "some-token": {
        ok: true,
        provider: "corp",
        claims: { sub: "bearer-user", exp: 4_000_000_000 },
        expiresAt: 4_000_000_000,
      },
    },
    sessions: createSessionPort(browserLogin),
    clock,
  });

  async function login(
    sub: string,
    accessClaims: Record<string, unknown> = {},
    expiresInSeconds = 600,
  ): Promise<string> {
    const exp = Math.floor(clock.now() / 1000) + expiresInSeconds;
    const accessToken = `at-${sub}-${exp}`;
    accessTokens.set(accessToken, { sub, exp, ...accessClaims });
    pendingResult = {
      idTokenClaims: { sub, email: `${sub}@example.com`, acr: "loa1" },
      idToken: "id-token",
      accessToken,
      accessTokenExpiresAt: exp,
      refreshToken: `rt-${sub}`,
      scope: "openid",
    };
    const start = await gate.decide(checkRequest("/home", { accept: "text/html" }));
    const txnCookie = setCookiesOf(start)[0]!.split(";")[0]!;
    const state = new URL(locationOf(start)).searchParams.get("state")!;
    const done = await completeLogin(
      browserLogin,
      new URLSearchParams({ code: "c", state }),
      parseSessionCookies(txnCookie),
    );
    if (done.kind !== "redirect") throw new Error(`login failed: ${done.reason}`);
    return done.setCookies
      .filter((c) => c.startsWith("__Host-portcullis="))
      .map((c) => c.split(";")[0])
      .join("; ");
  }

  async function complete(
    started: Decision,
    accessClaims: Record<string, unknown>,
    idClaims: Record<string, unknown> = { sub: "alice", acr: "loa1" },
    cookie?: string,
  ): Promise<CallbackOutcome> {
    const exp = Math.floor(clock.now() / 1000) + 600;
    const accessToken = `at-${String(idClaims["sub"])}-${exp}-${accessTokens.size}`;
    accessTokens.set(accessToken, { sub: idClaims["sub"], exp, ...accessClaims });
    pendingResult = {
      idTokenClaims: idClaims,
      idToken: "id",
      accessToken,
      accessTokenExpiresAt: exp,
      refreshToken: "rt-consent",
      scope: null,
    };
    const state = new URL(locationOf(started)).searchParams.get("state")!;
    const txnCookie = setCookiesOf(started)[0]!.split(";")[0]!;
    const jar = cookie === undefined ? txnCookie : `${cookie}; ${txnCookie}`;
    return completeLogin(browserLogin, new URLSearchParams({ code: "c", state }), parseSessionCookies(jar));
  }

  return {
    begins,
    complete,
    gate,
    browserLogin,
    setLoginResult: (result) => void (pendingResult = result),
    clock,
    refreshCalls,
    refreshOutcome,
    login,
  };
}
