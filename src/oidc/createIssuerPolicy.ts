// Which `iss` values belong to one provider: its issuer, the extra `tokenIssuers` (Entra v1/v2,
// Google's scheme-less form) and `{tenantid}` templates (Entra multi-tenant), where a token's `iss`
// must be the template filled with that token's own `tid`, and the tenant must be allowed.
import type { ProviderConfig } from "../config/PortcullisConfig.ts";

const PLACEHOLDER = "{tenantid}";

export interface IssuerPolicy {
  /** Issuers matched byte for byte: the configured one and tokenIssuers without a placeholder. */
  readonly exact: readonly string[];
  readonly templates: readonly string[];
  /** An unverified `iss` is one of this provider's (exactly, or by a template's shape): used to pick the provider. */
  recognizes(iss: string): boolean;
  /** Discovery's `issuer` may be the configured one or a template (a multi-tenant endpoint names its template). */
  acceptsDiscoveryIssuer(value: unknown): boolean;
  /** null when verified claims carry an acceptable `iss` (and `tid`); else a log-safe reason. */
  check(claims: Readonly<Record<string, unknown>>): string | null;
  /** The concrete issuer of accepted claims (a template filled with their `tid`), or null. */
  issuerOf(claims: Readonly<Record<string, unknown>>): string | null;
}

function templatePattern(template: string): RegExp {
  const escaped = template.split(PLACEHOLDER).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join("[^/?#\\s]{1,128}")}$`);
}

export function createIssuerPolicy(
  config: Pick<ProviderConfig, "issuer" | "tokenIssuers" | "allowedTenants" | "allowAnyTenant">,
): IssuerPolicy {
  const extra = config.tokenIssuers ?? [];
  const exact = [config.issuer, ...extra.filter((issuer) => !issuer.includes(PLACEHOLDER))];
  const templates = extra.filter((issuer) => issuer.includes(PLACEHOLDER));
  const patterns = templates.map((template) => ({ template, pattern: templatePattern(template) }));
  const allowed = new Set(config.allowedTenants ?? []);
  const anyTenant = config.allowAnyTenant === true;

  function issuerOf(claims: Readonly<Record<string, unknown>>): string | null {
    return check(claims) === null ? (claims["iss"] as string) : null;
  }

  function check(claims: Readonly<Record<string, unknown>>): string | null {
    const iss = claims["iss"];
    if (typeof iss !== "string") return "the token has no string iss";
    if (exact.includes(iss)) return null;
    const matched = patterns.find(({ pattern }) => pattern.test(iss));
    if (matched === undefined) return "the token's iss is not the provider's issuer";
    const tid = claims["tid"];
    // The template filled with the token's own tid must give back its iss: a token cannot claim
    // one tenant in `iss` and another in `tid`.
    if (typeof tid !== "string" || tid === "" || matched.template.replaceAll(PLACEHOLDER, tid) !== iss) {
      return "the token's iss does not name the tenant in its tid claim";
    }
    if (!anyTenant && !allowed.has(tid)) return `tenant ${JSON.stringify(tid.slice(0, 64))} is not in allowedTenants`;
    return null;
  }

  return {
    exact,
    templates,
    recognizes: (iss) => exact.includes(iss) || patterns.some(({ pattern }) => pattern.test(iss)),
    acceptsDiscoveryIssuer: (value) =>
      value === config.issuer || (typeof value === "string" && templates.includes(value)),
    check,
    issuerOf,
  };
}
