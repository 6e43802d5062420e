// A scripted token endpoint for token-exchange tests: parsed route exchange configs, an endpoint
// that records each form it is posted and answers from a script (optionally held until released),
// and the token answer an RFC 8693 IdP gives. Real exchanges are in the e2e and Keycloak tests.
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";

export const T0 = 1_900_000_000_000;
export const ENDPOINT = "https://idp.example.com/token";

/** A route with `exchange` (YAML form, `enabled: true` added) as parseConfig fills it in. */
export function routeWith(exchange: Record<string, unknown>): RouteConfig {
  const parsed = parseConfig({
    providers: {
      corp: {
        issuer: "https://idp.example.com",
        audiences: ["api"],
        clientId: "portcullis",
        clientSecret: "s3cret",
        redirectUri: "https://app.example.com/oauth2/callback",
      },
    },
    session: { keys: ["k".repeat(32)] },
    routes: [
      { name: "orders", match: { path: "/orders" }, auth: "required", exchange: { enabled: true, ...exchange } },
    ],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.routes[0]!;
}

export interface Posted {
  readonly url: string;
  readonly form: URLSearchParams;
  readonly authorization: string | null;
}

/** A token endpoint answering from `answer` (called with the call's number); after hold(), answers wait for release(). */
export function scriptedEndpoint(answer: (call: number) => Response | Error) {
  const posted: Posted[] = [];
  let release: (() => void) | undefined;
  let held: Promise<void> | undefined;
  const fetchImpl = (async (url: string, init: RequestInit) => {
    posted.push({
      url,
      form: new URLSearchParams(init.body as URLSearchParams),
      authorization: new Headers(init.headers).get("authorization"),
    });
    if (held !== undefined) await held;
    const out = answer(posted.length);
    if (out instanceof Error) throw out;
    return out;
  }) as typeof fetch;
  return {
    posted,
    fetch: fetchImpl,
    hold() {
      held = new Promise((resolve) => (release = resolve));
    },
    release: () => release?.(),
  };
}

/** An RFC 8693 answer: a Bearer access token living `expiresIn` seconds. */
export const tokenAnswer = (token: string, expiresIn = 300) =>
  Response.json({
    access_token: token,
    issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
    token_type: "Bearer",
    expires_in: expiresIn,
  });

/** An expiry of the caller's token far beyond every test's clock. */
export const farExp = T0 / 1000 + 3600;
