// A logged-in browser's session cookie without an IdP: a Session shaped as src/session/Session.ts
// with realistic sizes (~900-byte access token, ~800-byte ID token, a dozen claims), sealed and
// chunked exactly as src/login/createBrowserLogin.ts does, and the Cookie header a browser sends back.
import { randomBytes, randomUUID } from "node:crypto";
import { SESSION_MAX_CHUNKS } from "../src/login/parseSessionCookies.ts";
import { createCookieSealer, type CookieSealer } from "../src/session/createCookieSealer.ts";
import { createSessionCookies } from "../src/session/createSessionCookies.ts";
import type { Session } from "../src/session/Session.ts";

/** Cookies an application keeps beside ours (analytics, preferences, CSRF): only ours may be stripped. */
export const UNRELATED_COOKIES = [
  "_ga=GA1.1.1843021556.1732370112",
  "_ga_X1Y2Z3=GS1.1.1732370112.3.1.1732371003.0.0.0",
  "theme=dark",
  "locale=en-GB",
  "csrftoken=Q3vJ8kz1mN0pL5tR7wX2yB4cD6eF9gH1",
].join("; ");

export interface BenchSession {
  /** The session as it is sealed. */
  readonly session: Session;
  /** The sealer Portcullis builds from the same key (purpose `portcullis-session`). */
  readonly sealer: CookieSealer;
  /** The sealed value the session cookies carry, chunks joined: what `unseal` opens. */
  readonly sealed: string;
  /** Our cookies only, as the browser sends them back (`name=value; name.1=value…`). */
  readonly cookieHeader: string;
  readonly chunks: number;
}

export interface BenchSessionInput {
  /** A `session.keys` entry (32+ characters); the first key seals. */
  readonly key: string;
  /** `session.cookieName` of the parsed config (`__Host-portcullis` by default). */
  readonly cookieName: string;
  /** Provider name and its issuer exactly as the parsed config has them. */
  readonly provider: string;
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
}

/** A JWT-shaped string of about `bytes` characters: its claims, then padding, then an RS256-sized signature. */
function jwtShaped(header: object, claims: Record<string, unknown>, bytes: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const signature = randomBytes(256).toString("base64url");
  const bare = `${part(header)}.${part(claims)}.${signature}`;
  // Base64url grows 4/3, so pad the claims by 3/4 of what is missing.
  const pad = Math.max(0, Math.floor(((bytes - bare.length) * 3) / 4) - 10);
  return `${part(header)}.${part({ ...claims, ext: "x".repeat(pad) })}.${signature}`;
}

export function createBenchSession(input: BenchSessionInput): BenchSession {
  const now = Math.floor(Date.now() / 1000);
  const sub = "248289761001";
  const accessTokenExpiresAt = now + 3600;
  const common = { iss: input.issuer, sub, iat: now, auth_time: now - 60 };
  const accessToken = jwtShaped(
    { alg: "RS256", kid: "bench-rs256", typ: "at+jwt" },
    {
      ...common,
      aud: [input.audience],
      exp: accessTokenExpiresAt,
      client_id: input.clientId,
      jti: randomBytes(16).toString("hex"),
      scope: "openid profile email offline_access orders.read",
      roles: ["bench", "orders-reader"],
    },
    900,
  );
  const idToken = jwtShaped(
    { alg: "RS256", kid: "bench-rs256", typ: "JWT" },
    {
      ...common,
      aud: input.clientId,
      exp: now + 3600,
      nonce: randomBytes(16).toString("base64url"),
      email: "jane.doe@example.com",
      name: "Jane Doe",
      acr: "urn:bench:loa:2",
      amr: ["pwd", "otp"],
    },
    800,
  );
  // What composeSessionClaims keeps from the ID token and the verified access token.
  const claims: Record<string, unknown> = {
    sub,
    email: "jane.doe@example.com",
    email_verified: true,
    name: "Jane Doe",
    preferred_username: "jane.doe",
    acr: "urn:bench:loa:2",
    amr: ["pwd", "otp"],
    auth_time: now - 60,
    aud: [input.audience],
    client_id: input.clientId,
    scope: "openid profile email offline_access orders.read",
    roles: ["bench", "orders-reader"],
    exp: accessTokenExpiresAt,
  };
  const session: Session = {
    v: 1,
    id: randomUUID(),
    provider: input.provider,
    iss: input.issuer,
    sid: null,
    sub,
    claims,
    accessToken,
    accessTokenExpiresAt,
    accessTokenIssuedAt: now,
    refreshToken: randomBytes(32).toString("base64url"),
    idToken,
    authTime: now - 60,
    createdAt: now - 60,
    expiresAt: now + 8 * 3600,
  };
  const sealer = createCookieSealer({ keys: [input.key], purpose: "portcullis-session" });
  const cookies = createSessionCookies({ name: input.cookieName, domain: null, sealer, maxChunks: SESSION_MAX_CHUNKS });
  const setCookies = cookies.write(session, session.expiresAt, [], now);
  // A browser sends back `name=value` of each Set-Cookie, attributes dropped.
  const pairs = setCookies.map((line) => line.slice(0, line.indexOf(";")));
  const values = pairs.map((pair) => pair.slice(pair.indexOf("=") + 1));
  const sealed = [values[0]!.slice(values[0]!.indexOf(".") + 1), ...values.slice(1)].join("");
  if (sealer.unseal(sealed, now) === null) throw new Error("bench session: the sealed cookie does not unseal");
  return { session, sealer, sealed, cookieHeader: pairs.join("; "), chunks: pairs.length };
}
