// Cross-field rules of policy.removeRequestHeaders and routes[].forwardRequestHeaders: a route can
// forward only a header the policy removes (forwarding any other is a no-op that reads like a
// permission), and no identity header Portcullis sets may be on the list, since Envoy applies an
// ext_authz answer's removals after its sets and would drop our own value.

import type { PartialConfig } from "./checkConfigRules.ts";
import type { ConfigIssue } from "./ConfigIssue.ts";
import { keyPath } from "./keyPath.ts";

export function checkRequestHeaderRemoval(
  config: PartialConfig,
  { problems }: { readonly problems: ConfigIssue[] },
): void {
  const removed = config.policy?.removeRequestHeaders;
  const identity = new Map<string, string>();
  for (const [key, name] of Object.entries(config.identity?.headers ?? {}))
    if (name !== undefined) identity.set(name, keyPath("identity.headers", key));
  for (const name of Object.keys(config.identity?.claimHeaders ?? {}))
    identity.set(name, keyPath("identity.claimHeaders", name));
  (removed ?? []).forEach((name, i) => {
    const owner = name === undefined ? undefined : identity.get(name);
    if (owner !== undefined) {
      problems.push({
        path: keyPath("policy.removeRequestHeaders", i),
        message: `${JSON.stringify(name)} is the identity header ${owner}, which Portcullis sets and already removes from the client; take it off this list`,
      });
    }
  });
  // A list that did not parse (itself, or one of its names) says nothing about what a route may forward.
  if (removed === undefined || removed.includes(undefined)) return;
  const list = removed.join(", ");
  (config.routes ?? []).forEach((route, index) => {
    (route?.forwardRequestHeaders ?? []).forEach((name, i) => {
      if (name === undefined || removed.includes(name)) return;
      problems.push({
        path: keyPath(keyPath(keyPath("routes", index), "forwardRequestHeaders"), i),
        message: `${JSON.stringify(name)} is not in policy.removeRequestHeaders (${list || "empty"}), so it already reaches the upstream; remove it here, or add it there`,
      });
    });
  });
}
