// One parsed config with browser login on (provider `corp` at https://idp.example.com with a client
// for https://app.example.com, one session key, one required route), for the login steps' unit tests.
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";

export const BROWSER_LOGIN_ISSUER = "https://idp.example.com";
export const BROWSER_LOGIN_APP = "https://app.example.com";

export function browserLoginConfig(): PortcullisConfig {
  const parsed = parseConfig({
    providers: {
      corp: {
        issuer: BROWSER_LOGIN_ISSUER,
        audiences: ["api"],
        clientId: "web",
        clientSecret: "secret-secret",
        redirectUri: `${BROWSER_LOGIN_APP}/oauth2/callback`,
      },
    },
    session: { keys: ["k".repeat(40)] },
    routes: [{ name: "app", match: { path: "/" }, auth: "required" }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}
