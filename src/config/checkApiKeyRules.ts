// Cross-field rules of `apiKeys` and `routes[].apiKeys`: a place to read keys from, digests and client
// ids each once, routes that opt in only where keys are enabled and a credential is read, a header
// that is not one Portcullis sets, and a query parameter only where the front door can remove it.
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

export function checkApiKeyRules(config: PartialConfig, { problems }: RuleFindings): void {
  const section = config.apiKeys;
  const enabled = section?.enabled === true;
  (config.routes ?? []).forEach((route, index) => {
    if (route?.apiKeys !== true) return;
    const path = keyPath(keyPath("routes", index), "apiKeys");
    if (!enabled) problems.push({ path, message: "needs apiKeys.enabled: true (and keys) at the top level" });
    if (route.auth === "public")
      problems.push({ path, message: "is set on an auth: public route, which reads no credential: remove it" });
  });
  if (section === undefined || !enabled) return;
  if (section.header == null && section.queryParameter == null)
    problems.push({ path: "apiKeys.header", message: "and apiKeys.queryParameter are both null: set one" });
  const header = section.header;
  const identityHeaders = new Set([
    ...Object.values(config.identity?.headers ?? {}),
    ...Object.keys(config.identity?.claimHeaders ?? {}),
  ]);
  if (typeof header === "string" && (identityHeaders.has(header) || header === "authorization" || header === "cookie"))
    problems.push({
      path: "apiKeys.header",
      message: "is a header Portcullis reads or sets for other purposes: name another header (e.g. x-api-key)",
    });
  if (typeof section.queryParameter === "string" && config.forwardAuth?.enabled === true)
    problems.push({
      path: "apiKeys.queryParameter",
      message:
        "cannot be removed by a forward-auth proxy (forwardAuth.enabled), so the key would reach the upstream: use apiKeys.header",
    });
  const digests = new Map<string, number>();
  const clients = new Map<string, number>();
  (section.keys ?? []).forEach((key, index) => {
    const path = keyPath("apiKeys.keys", index);
    if (typeof key?.sha256 === "string") {
      const first = digests.get(key.sha256);
      if (first !== undefined)
        problems.push({
          path: `${path}.sha256`,
          message: `is the digest of apiKeys.keys[${first}] too: one key, one client`,
        });
      else digests.set(key.sha256, index);
    }
    if (typeof key?.clientId === "string") {
      const first = clients.get(key.clientId);
      if (first !== undefined)
        problems.push({
          path: `${path}.clientId`,
          message: `is apiKeys.keys[${first}]'s client id too: give each client one key (rotate by reload)`,
        });
      else clients.set(key.clientId, index);
    }
  });
}
