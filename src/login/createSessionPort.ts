// Binds the login steps the Check path uses to one generation's browser login, as the Gate's port.
import type { BrowserLogin } from "./createBrowserLogin.ts";
import { freshenSession, loadSession } from "./freshenSession.ts";
import { loginProviderFor } from "./loginProviderFor.ts";
import { parseSessionCookies } from "./parseSessionCookies.ts";
import type { SessionPort } from "./SessionPort.ts";
import { startLogin } from "./startLogin.ts";

const NONE: ReadonlySet<string> = new Set();

export function createSessionPort(login: BrowserLogin): SessionPort {
  const consentScopes = new Map([...login.providers.values()].map((p) => [p.name, new Set(p.consentScopes)] as const));
  return {
    consentScopesOf: (provider) => consentScopes.get(provider) ?? NONE,
    cookiePrefix: login.cookiePrefix,
    owns: login.owns,
    parseCookies: parseSessionCookies,
    load: (cookies) => loadSession(login, cookies),
    freshen: (session, present) => freshenSession(login, session, present),
    loginProviderFor: (routeProviders) => loginProviderFor(login, routeProviders),
    startLogin: (target, provider, cookies, stepUp) => startLogin(login, target, provider, cookies, stepUp),
  };
}
