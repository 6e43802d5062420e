// The browser session as it is sealed into the session cookie, and its strict parser: anything that
// is not exactly this shape (missing or unknown keys, wrong types, another version) is no session.
// Times are epoch seconds. The parser copies the known fields; it never trusts the input object.

import { isPlainRecord } from "./isPlainRecord.ts";

export type Session = {
  v: 1;
  id: string;
  provider: string;
  iss: string;
  sub: string;
  /** The IdP's session id (the ID token's `sid`): what a back-channel logout names. */
  sid: string | null;
  /** Identity claims used for upstream headers and route requirements. */
  claims: Record<string, unknown>;
  accessToken: string;
  accessTokenExpiresAt: number;
  /** When this access token was obtained: its lifetime bounds the refresh window. */
  accessTokenIssuedAt: number;
  refreshToken: string | null;
  idToken: string | null;
  authTime: number | null;
  createdAt: number;
  /** Absolute cap: the session ends here whatever the tokens say. */
  expiresAt: number;
  /**
   * When the session was last used, written at most once a minute (`session.idleTimeoutSeconds`).
   * Absent in sessions sealed before it was kept: their `createdAt` stands in.
   */
  lastSeenAt?: number;
  /**
   * The scopes an incremental consent added to this session (kept through refreshes): a session that
   * lacks one of them again is not sent for it a second time. Absent: none.
   */
  consented?: string[];
};

/** At most this many consented scopes are kept (each is a configured `consentScopes` name). */
export const CONSENTED_SCOPES_MAX = 64;

const SESSION_KEYS: ReadonlySet<string> = new Set([
  "v",
  "id",
  "provider",
  "iss",
  "sub",
  "sid",
  "claims",
  "accessToken",
  "accessTokenExpiresAt",
  "accessTokenIssuedAt",
  "refreshToken",
  "idToken",
  "authTime",
  "createdAt",
  "expiresAt",
  "lastSeenAt",
  "consented",
]);

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isEpochSeconds(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

export function parseSession(payload: Record<string, unknown>): Session | null {
  if (!isPlainRecord(payload)) return null;
  for (const key of Object.keys(payload)) if (!SESSION_KEYS.has(key)) return null;
  const p = payload;
  if (p.v !== 1) return null;
  if (!isText(p.id) || !isText(p.provider) || !isText(p.iss) || !isText(p.sub)) return null;
  // Sessions sealed before `sid` was kept have none: they simply cannot be named by sid.
  const sid = p.sid === undefined ? null : p.sid;
  if (sid !== null && !isText(sid)) return null;
  if (!isPlainRecord(p.claims)) return null;
  if (!isText(p.accessToken) || !isEpochSeconds(p.accessTokenExpiresAt) || !isEpochSeconds(p.accessTokenIssuedAt))
    return null;
  if (p.refreshToken !== null && !isText(p.refreshToken)) return null;
  if (p.idToken !== null && !isText(p.idToken)) return null;
  if (p.authTime !== null && !isEpochSeconds(p.authTime)) return null;
  if (!isEpochSeconds(p.createdAt) || !isEpochSeconds(p.expiresAt)) return null;
  if (p.lastSeenAt !== undefined && !isEpochSeconds(p.lastSeenAt)) return null;
  const consented = p.consented;
  if (
    consented !== undefined &&
    (!Array.isArray(consented) || consented.length > CONSENTED_SCOPES_MAX || !consented.every(isText))
  )
    return null;
  const session: Session = {
    v: 1,
    id: p.id,
    provider: p.provider,
    iss: p.iss,
    sub: p.sub,
    sid,
    claims: p.claims,
    accessToken: p.accessToken,
    accessTokenExpiresAt: p.accessTokenExpiresAt,
    accessTokenIssuedAt: p.accessTokenIssuedAt,
    refreshToken: p.refreshToken,
    idToken: p.idToken,
    authTime: p.authTime,
    createdAt: p.createdAt,
    expiresAt: p.expiresAt,
  };
  if (p.lastSeenAt !== undefined) session.lastSeenAt = p.lastSeenAt;
  if (consented !== undefined) session.consented = [...(consented as string[])];
  return session;
}
