// What the Redis store keeps beside each encrypted session record for the session admin to list:
// provider, creation and last-seen times and a short digest of the login's User-Agent. The record
// itself opens only with the browser's cookie, so this small JSON is the only part an operator can
// read; it holds no token, no subject (the index key names that, as a digest) and no raw header.
import { createHash } from "node:crypto";
import { isPlainRecord } from "./isPlainRecord.ts";

export interface SessionSummary {
  readonly provider: string;
  /** Epoch seconds. */
  readonly createdAt: number;
  /** Epoch seconds: the login's, then each last-seen write (only with session.idleTimeoutSeconds). */
  readonly lastSeenAt: number | null;
  /** The absolute end of the session (epoch seconds). */
  readonly expiresAt: number;
  readonly userAgentDigest: string | null;
}

/**
 * 12 base64url characters (72 bits) of SHA-256: enough to tell a user's browsers apart in a
 * listing, not a fingerprint store; the header itself is never kept.
 */
export function digestUserAgent(userAgent: string | null | undefined): string | null {
  if (userAgent === null || userAgent === undefined || userAgent === "") return null;
  return createHash("sha256").update(userAgent).digest("base64url").slice(0, 12);
}

export function encodeSessionSummary(summary: SessionSummary): string {
  return JSON.stringify({
    p: summary.provider,
    c: summary.createdAt,
    l: summary.lastSeenAt,
    e: summary.expiresAt,
    u: summary.userAgentDigest,
  });
}

/** Null for anything that is not exactly a summary this code wrote. */
export function parseSessionSummary(text: string | null): SessionSummary | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isPlainRecord(value)) return null;
  const { p, c, l, e, u } = value;
  const time = (t: unknown): t is number => typeof t === "number" && Number.isFinite(t) && t >= 0;
  if (typeof p !== "string" || !time(c) || !time(e) || (l !== null && !time(l))) return null;
  if (u !== null && (typeof u !== "string" || !/^[A-Za-z0-9_-]{12}$/.test(u))) return null;
  return { provider: p, createdAt: c, lastSeenAt: l, expiresAt: e, userAgentDigest: u };
}
