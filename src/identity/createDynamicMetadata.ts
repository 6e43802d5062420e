// Verified claims → the Check answer's dynamic metadata (`identity.metadata`): who was let through
// (or refused) and where, as flat string fields for Envoy's rate limits and access log. Built once per
// credential and route on an allow (the gate keeps it in the reused answer), per denial on a deny;
// identifiers that would need changing to fit are left out, free-form claim values are sanitised and
// cut. Only verified claims: never a token or cookie, never a claim of a credential that was refused.
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { claimScalarText, claimText } from "./claimText.ts";
import { resolveClaim } from "./resolveClaim.ts";
import { isVerbatimHeaderValue, sanitizeHeaderValue } from "./sanitizeHeaderValue.ts";

type MetadataConfig = NonNullable<PortcullisConfig["identity"]["metadata"]>;
type Fields = Array<readonly [name: string, value: string]>;

export interface MetadataValue {
  readonly namespace: string;
  readonly fields: ReadonlyArray<readonly [name: string, value: string]>;
}

/** Who a verified credential speaks for, as the gate knows it. */
export interface MetadataSubject {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly provider: string;
  readonly credential: "bearer" | "session" | "certificate" | "api_key";
  /** A machine (client credentials) rather than a person. */
  readonly machine: boolean;
  /** The OAuth client the token was issued to, when it says. */
  readonly clientId: string | null;
}

export interface MetadataBuilder {
  /**
   * The metadata of an answer on `route` (null: no route matched): a verified subject's, or the route
   * alone (public, anonymous, or a denial before any caller was verified); a denial adds its `code`.
   */
  (route: string | null, subject: MetadataSubject | null, denial?: string): MetadataValue;
}

/** null when `identity.metadata` is off. */
export function createDynamicMetadata(config: MetadataConfig | undefined): MetadataBuilder | null {
  if (config === undefined || !config.enabled) return null;
  const { namespace, tenantClaim, claims, maxValueBytes } = config;
  const identifier = (fields: Fields, name: string, value: unknown) => {
    if (typeof value === "string" && isVerbatimHeaderValue(value, maxValueBytes)) fields.push([name, value]);
  };
  return (route, subject, denial) => {
    const fields: Fields = [];
    if (route !== null) identifier(fields, "route", route);
    // A denial code is one of ours (a deny rule's own is checked as an identifier at config time).
    if (denial !== undefined) identifier(fields, "code", denial);
    if (subject === null) return Object.freeze({ namespace, fields: Object.freeze(fields) });
    identifier(fields, "provider", subject.provider);
    fields.push(["credential", subject.credential], ["kind", subject.machine ? "client" : "user"]);
    identifier(fields, "sub", Object.hasOwn(subject.claims, "sub") ? subject.claims["sub"] : undefined);
    identifier(fields, "client_id", subject.clientId);
    if (tenantClaim !== null) identifier(fields, "tenant", claimScalarText(resolveClaim(subject.claims, tenantClaim)));
    for (const path of claims) {
      // A key the fields above use is theirs: a claim never overwrites who the caller is.
      if (fields.some(([name]) => name === path)) continue;
      const text = claimText(resolveClaim(subject.claims, path));
      const value = text === undefined ? "" : sanitizeHeaderValue(text, maxValueBytes);
      if (value !== "") fields.push([path, value]);
    }
    return Object.freeze({ namespace, fields: Object.freeze(fields) });
  };
}
