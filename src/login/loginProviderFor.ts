// Which provider a browser on a route is sent to log in with.
import type { BrowserLogin } from "./createBrowserLogin.ts";

/** The route's first provider with a client, else (a route open to every provider) the first configured one. */
export function loginProviderFor(login: BrowserLogin, routeProviders: readonly string[]): string | null {
  if (routeProviders.length === 0) return login.loginProviders[0]?.name ?? null;
  for (const name of routeProviders) if (login.loginOrigins.has(name)) return name;
  return null;
}
