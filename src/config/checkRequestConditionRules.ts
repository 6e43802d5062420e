// What check-config says about request conditions beyond their own keys: the trust that
// policy.trustedForwardedHops places in X-Forwarded-For, spelled out as a warning (it is only as
// safe as the proxy count is exact), a hop count that no condition reads, and a deny rule that only
// refuses clients which choose to send a header, query parameter or SNI.
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

function readsSourceAddresses(config: PartialConfig): boolean {
  const given = (list: readonly unknown[] | undefined) => (list?.length ?? 0) > 0;
  if (given(config.policy?.defaults?.require?.request?.sourceAddresses)) return true;
  return (config.routes ?? []).some(
    (route) =>
      route !== undefined &&
      (given(route.match?.sourceAddresses) ||
        given(route.require?.request?.sourceAddresses) ||
        (route.deny ?? []).some((rule) => given(rule?.when?.request?.sourceAddresses))),
  );
}

/** Of a deny rule's when.request, the conditions on what the client writes (not address or time). */
const CLIENT_WRITTEN = ["headers", "query", "sni"] as const;

function warnClientWrittenDenials(config: PartialConfig, warnings: RuleFindings["warnings"]): void {
  (config.routes ?? []).forEach((route, r) =>
    (route?.deny ?? []).forEach((rule, d) => {
      const request = rule?.when?.request;
      for (const key of CLIENT_WRITTEN)
        if ((request?.[key]?.length ?? 0) > 0)
          warnings.push({
            path: keyPath(keyPath(keyPath(keyPath(keyPath(keyPath("routes", r), "deny"), d), "when"), "request"), key),
            message: `is the client's to send or leave out: the deny rule refuses only clients that write the ${key === "sni" ? "SNI" : key === "headers" ? "header" : "query parameter"} as it says, and any other gets past it; deny on what the client cannot choose (groups, roles, claims, sourceAddresses, time), or require the opposite with require.request, unless a proxy you run always sets it`,
          });
    }),
  );
}

export function checkRequestConditionRules(config: PartialConfig, { warnings }: RuleFindings): void {
  warnClientWrittenDenials(config, warnings);
  const hops = config.policy?.trustedForwardedHops;
  if (typeof hops !== "number" || hops === 0) return;
  const path = keyPath("policy", "trustedForwardedHops");
  const proxies = hops === 1 ? "one proxy" : `${hops} proxies`;
  if (!readsSourceAddresses(config)) {
    warnings.push({
      path,
      message: `is ${hops} but no sourceAddresses condition reads the client address; remove it, or add the conditions it is for`,
    });
    return;
  }
  warnings.push({
    path,
    message: `trusts X-Forwarded-For: sourceAddresses conditions test the entry ${hops} left of the last one, which is only the client's address when exactly ${proxies} you operate, each appending the address it saw, stand in front of Envoy, and Envoy runs with use_remote_address: true (it appends the peer last) and passes x-forwarded-for to ext_authz (check-config --envoy); with fewer proxies than that, any client chooses the address its conditions test`,
  });
}
