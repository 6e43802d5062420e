// The identity part of an assertion: the configured claims (identity.assertion.claims) read from the
// verified claims, never the whole token, fitted into a byte budget. Single values longer than a
// bound are left out; role, group and amr lists lose entries from the end of the longest until the
// JSON fits (fewer roles can only take rights away); null when it cannot fit at all.
import type { ASSERTION_CLAIMS } from "../config/assertionSchema.ts";

export type AssertionClaim = (typeof ASSERTION_CLAIMS)[number];

type Claims = Readonly<Record<string, unknown>>;

/** Longest single value carried (a subject, an email, one role): a bound, not a cut. */
const MAX_VALUE_BYTES = 256;

export interface IdentitySources {
  readonly claims: Claims;
  readonly machine: boolean;
  /** The credential's issuer (the provider's), carried as `idp`. */
  readonly idp: string | undefined;
  readonly roles: () => readonly string[];
  readonly groups: () => readonly string[];
}

/** The identity claims as an object in a fixed order, or null when they exceed `budget` JSON bytes even trimmed. */
export function assertionIdentity(
  wanted: readonly AssertionClaim[],
  sources: IdentitySources,
  budget: number,
): Record<string, unknown> | null {
  const { claims, machine } = sources;
  const body: Record<string, unknown> = {};
  // Never left out for its length (it is a configured issuer, and the config's size rule counts it):
  // without it two providers' users of one sub would get the same assertion.
  if (sources.idp !== undefined) body["idp"] = sources.idp;
  const lists: string[][] = [];
  const clientId = text(claims["client_id"]) ?? text(claims["azp"]);
  for (const claim of wanted) {
    switch (claim) {
      case "sub": {
        // Only the token's own sub, as for x-user-sub: a client id made the subject would read, at
        // an upstream, as the person whose sub it equals. A machine is named by client_id.
        const sub = text(claims["sub"]);
        if (sub !== null) body["sub"] = sub;
        break;
      }
      case "client_id":
        if (machine && clientId !== null) body["client_id"] = clientId;
        break;
      case "roles":
      case "groups":
      case "amr": {
        const list = (
          claim === "roles" ? sources.roles() : claim === "groups" ? sources.groups() : names(claims["amr"])
        ).filter(fits);
        if (list.length > 0) {
          body[claim] = list;
          lists.push(list);
        }
        break;
      }
      default: {
        const value = text(claims[claim]);
        if (value !== null) body[claim] = value;
      }
    }
  }
  return shrinkToFit(body, lists, budget) ? body : null;
}

/** Drops entries from the end of the longest list until the JSON fits; false when it cannot. */
function shrinkToFit(body: Record<string, unknown>, lists: string[][], budget: number): boolean {
  let size = Buffer.byteLength(JSON.stringify(body));
  while (size > budget) {
    let longest: string[] | undefined;
    for (const list of lists)
      if (list.length > 0 && (longest === undefined || list.length > longest.length)) longest = list;
    if (longest === undefined) return false;
    const removed = longest.pop()!;
    size -= Buffer.byteLength(JSON.stringify(removed)) + (longest.length > 0 ? 1 : 0);
  }
  return true;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 && fits(value) ? value : null;
}

function fits(value: string): boolean {
  return value.length <= MAX_VALUE_BYTES && Buffer.byteLength(value) <= MAX_VALUE_BYTES;
}

function names(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v.length > 0) : [];
}
