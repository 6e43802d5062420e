// API keys for legacy clients (the `apiKeys` section, routes with `apiKeys: true`): the configured
// digests (inline and from apiKeys.file) compiled once per config generation (a reload swaps the
// whole set: rotation), and the credential step that turns a presented key into a machine
// principal, an api_key_invalid denial, or nothing (no key: the request goes on as one without a
// credential). The key is never logged.
import { createHash } from "node:crypto";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { AccessRequest } from "./AccessRequest.ts";
import type { Deny } from "./Decision.ts";
import { deny } from "./deny.ts";
import { readRouteToken } from "./readRouteToken.ts";
import type { RouteTokenSource } from "./RouteTokenSource.ts";
import type { Subject } from "./Subject.ts";

/** The provider label (metrics, logs) of an API-key client: not a possible provider name. */
export const API_KEY_PROVIDER = "(apikey)";

/** Longest key hashed: longer is refused before any work (keys we make are 43 characters). */
export const MAX_API_KEY_LENGTH = 256;

export interface ApiKeySet {
  /** Where keys are read (header first, then query parameter); removed before the upstream. */
  readonly sources: readonly RouteTokenSource[];
  /** The key's client on a route that accepts keys; null when the route does not or no key came. */
  subjectOf(request: AccessRequest, route: ApiKeyRoute): Subject | Deny | null;
}

/** What the lookup reads of a compiled route. */
export interface ApiKeyRoute {
  readonly name: string;
  readonly apiKeys?: boolean;
}

const NONE: readonly string[] = Object.freeze([]);

export function createApiKeySet(section: PortcullisConfig["apiKeys"] | undefined): ApiKeySet | null {
  if (section === undefined || !section.enabled) return null;
  const sources: RouteTokenSource[] = [];
  if (section.header !== null) sources.push(Object.freeze({ kind: "header", name: section.header.toLowerCase() }));
  if (section.queryParameter !== null) sources.push(Object.freeze({ kind: "query", name: section.queryParameter }));
  // Digest (lower-case hex) → the subject its key stands for; one frozen object per key, so the
  // Gate keeps its plain answer as it does a certificate client's.
  const byDigest = new Map<string, Subject>();
  for (const key of section.keys) {
    const claims = Object.freeze({
      client_id: key.clientId,
      ...(key.scopes.length > 0 ? { scope: key.scopes.join(" ") } : {}),
      ...(key.roles.length > 0 ? { roles: Object.freeze([...key.roles]) } : {}),
    });
    byDigest.set(
      key.sha256,
      Object.freeze({
        kind: "subject",
        claims,
        provider: API_KEY_PROVIDER,
        credential: "api_key",
        setCookies: NONE,
        keepAnswer: true,
      }),
    );
  }
  const set: ApiKeySet = {
    sources: Object.freeze(sources),
    subjectOf(request, route) {
      if (route.apiKeys !== true) return null;
      const presented = presentedKey(request, sources);
      if (presented === null) return null;
      const invalid = (detail: string) => deny("api_key_invalid", { route: route.name, detail });
      if (!presented.ok) return invalid(presented.detail);
      if (presented.key.length > MAX_API_KEY_LENGTH)
        return invalid(`key in ${presented.where} longer than ${MAX_API_KEY_LENGTH} characters`);
      // Constant-time enough: the lookup compares digests, never keys. The caller controls the input
      // of a preimage-resistant hash, so how far a Map's string comparison gets into a stored digest
      // tells them nothing about any key (steering a digest's prefix means a partial preimage). What
      // else varies is the hashing, over the presented key only (bounded above), and the Map's hash of
      // a 64-character digest: neither depends on the stored keys, however many the file holds.
      const digest = createHash("sha256").update(presented.key, "utf8").digest("hex");
      return byDigest.get(digest) ?? invalid(`no configured key matches the key in ${presented.where}`);
    },
  };
  return Object.freeze(set);
}

type Presented = { ok: true; key: string; where: string } | { ok: false; detail: string };

/** The one key the request presents, or null; a key in two places, or malformed, is refused. */
function presentedKey(request: AccessRequest, sources: readonly RouteTokenSource[]): Presented | null {
  let found: Presented | null = null;
  for (const source of sources) {
    const read = readRouteToken(request, source);
    if (read.kind === "none") continue;
    if (found !== null) return { ok: false, detail: "a key in both the header and the query parameter" };
    // readRouteToken's details name the place, never the value.
    found =
      read.kind === "malformed"
        ? { ok: false, detail: read.detail.replace("token", "key") }
        : { ok: true, key: read.token, where: `${source.kind} ${source.name}` };
  }
  return found;
}
