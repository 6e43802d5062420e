// One pending browser login (OIDC code flow with PKCE) as sealed into its short-lived cookie, and its
// strict parser: missing or unknown keys, wrong types, or a returnTo that is not an absolute http(s)
// URL make it null. createdAt is epoch seconds.

import { isPlainRecord } from "./isPlainRecord.ts";

export type LoginTransaction = {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Absolute URL to return to after login, already checked by the redirect policy. */
  returnTo: string;
  provider: string;
  createdAt: number;
  acrValues?: string[];
  maxAge?: number;
  /** Incremental consent: the scopes this login added, which the new session must carry. */
  scopes?: string[];
};

const REQUIRED_KEYS = ["state", "nonce", "codeVerifier", "returnTo", "provider", "createdAt"] as const;
const KNOWN_KEYS: ReadonlySet<string> = new Set([...REQUIRED_KEYS, "acrValues", "maxAge", "scopes"]);

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isAbsoluteHttpUrl(value: string): boolean {
  const url = URL.parse(value);
  return url !== null && (url.protocol === "https:" || url.protocol === "http:");
}

export function parseLoginTransaction(payload: Record<string, unknown>): LoginTransaction | null {
  if (!isPlainRecord(payload)) return null;
  for (const key of Object.keys(payload)) if (!KNOWN_KEYS.has(key)) return null;
  const p = payload;
  if (!isText(p.state) || !isText(p.nonce) || !isText(p.codeVerifier) || !isText(p.provider)) return null;
  if (!isText(p.returnTo) || !isAbsoluteHttpUrl(p.returnTo)) return null;
  if (typeof p.createdAt !== "number" || !Number.isFinite(p.createdAt) || p.createdAt < 0) return null;
  const txn: LoginTransaction = {
    state: p.state,
    nonce: p.nonce,
    codeVerifier: p.codeVerifier,
    returnTo: p.returnTo,
    provider: p.provider,
    createdAt: p.createdAt,
  };
  if ("acrValues" in p) {
    const acr = p.acrValues;
    if (!Array.isArray(acr) || !acr.every(isText)) return null;
    txn.acrValues = [...acr];
  }
  if ("maxAge" in p) {
    if (typeof p.maxAge !== "number" || !Number.isSafeInteger(p.maxAge) || p.maxAge < 0) return null;
    txn.maxAge = p.maxAge;
  }
  if ("scopes" in p) {
    const scopes = p.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every(isText)) return null;
    txn.scopes = [...scopes];
  }
  return txn;
}
