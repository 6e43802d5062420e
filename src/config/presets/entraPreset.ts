// Microsoft Entra ID: app roles in `roles`, group object ids in `groups`. An API's access tokens are v1
// (`https://sts.windows.net/<tenant>/`) or v2 (`…/<tenant>/v2.0`) by the API's manifest, whichever
// endpoint issued them, so both issuers are accepted. `organizations` / `common` issuers are
// multi-tenant: tokens name their tenant, checked against `{tenantid}` templates and allowedTenants.
import type { IdpPreset } from "./IdpPreset.ts";

const V1_ISSUER = "https://sts.windows.net/";
const MULTI_TENANT = new Set(["organizations", "common"]);

/** The other issuers an Entra issuer's tokens may carry, or [] for a shape this does not know (B2C, national clouds' v1). */
export function entraTokenIssuers(issuer: string): string[] {
  const v2 = /^(https?:\/\/[^/]+(?:\/[^/]+)*?)\/([^/]+)\/v2\.0\/?$/.exec(issuer);
  if (v2 !== null) {
    const [, base, tenant] = v2 as unknown as [string, string, string];
    if (MULTI_TENANT.has(tenant)) return [`${base}/{tenantid}/v2.0`, `${V1_ISSUER}{tenantid}/`];
    return [`${V1_ISSUER}${tenant}/`];
  }
  if (issuer.startsWith(V1_ISSUER)) {
    const tenant = issuer.slice(V1_ISSUER.length).replace(/\/$/, "");
    if (/^[^/]+$/.test(tenant)) return [`https://login.microsoftonline.com/${tenant}/v2.0`];
  }
  return [];
}

export const entraPreset: IdpPreset = {
  name: "entra",
  summary:
    "roles from `roles`, groups from `groups`, v1 and v2 token issuers, `{tenantid}` issuers for `organizations`/`common`, `offline_access`, RP-initiated logout",
  values: ({ issuer }) => {
    const tokenIssuers = issuer === undefined ? [] : entraTokenIssuers(issuer);
    return {
      roleClaims: ["roles"],
      groupClaims: ["groups"],
      scopes: ["openid", "profile", "email", "offline_access"],
      ...(tokenIssuers.length > 0 ? { tokenIssuers } : {}),
      logout: { method: "end_session" },
    };
  },
};
