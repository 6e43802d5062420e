// Cross-field rules of `routes[].forwardToken`: not with token exchange (both would set the
// upstream's token), not on a public route (no caller to forward), not into a header Portcullis owns;
// warnings where the upstream would also get the signed assertion (two credentials to guard) or the
// client's own Authorization header (identity.forwardAuthorization).
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

export function checkForwardTokenRules(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  const identity = config.identity ?? {};
  const owned = new Set([
    ...Object.values(identity.headers ?? {}),
    ...Object.keys(identity.claimHeaders ?? {}),
    ...(identity.assertion?.header !== undefined ? [identity.assertion.header] : []),
  ]);
  (config.routes ?? []).forEach((route, index) => {
    const forward = route?.forwardToken;
    if (route === undefined || forward?.enabled !== true) return;
    const path = keyPath(keyPath("routes", index), "forwardToken");
    if (route.exchange?.enabled === true)
      problems.push({
        path: keyPath(path, "enabled"),
        message: "is true beside exchange.enabled: both set the upstream's token; keep one",
      });
    if (route.auth === "public")
      problems.push({ path: keyPath(path, "enabled"), message: "is true on a public route, which has no caller" });
    if (forward.header !== undefined && owned.has(forward.header))
      problems.push({
        path: keyPath(path, "header"),
        message: `${JSON.stringify(forward.header)} is an identity header Portcullis sets; pick another, e.g. "x-forwarded-access-token"`,
      });
    const assertion = route.assertion?.enabled ?? identity.assertion?.enabled;
    if (assertion === true)
      warnings.push({
        path: keyPath(path, "enabled"),
        message:
          "this route's upstream also gets the signed identity assertion: it then holds two credentials; if it only needs to know who the caller is, drop forwardToken",
      });
    if (identity.forwardAuthorization === true)
      warnings.push({
        path: keyPath(path, "enabled"),
        message:
          "identity.forwardAuthorization is true: on other routes the client's Authorization header reaches upstreams as sent; here it is replaced by the forwarded token",
      });
  });
}
