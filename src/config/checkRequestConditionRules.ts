// What check-config says about request conditions beyond their own keys: the trust that
// policy.trustedForwardedHops places in X-Forwarded-For, spelled out as a warning (it is only as
// safe as the proxy count is exact), and a hop count that no condition reads.
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

export function checkRequestConditionRules(config: PartialConfig, { warnings }: RuleFindings): void {
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
