// The admin API's token: required when the API is on, and only from the environment, so a token is
// never committed with the config file (and a config shared for support never carries it), and one
// an Authorization header can carry; a warning when the API listens beyond loopback. Its minimum
// length is the schema's (sealingSecret); the value is never quoted.
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";

/** `secretPaths`: key paths whose value came from `${ENV}` (loadConfigFile's substitution). */
export function checkAdminApiRules(
  config: PartialConfig,
  { problems, warnings }: RuleFindings,
  secretPaths: ReadonlySet<string>,
): void {
  const api = config.admin?.api;
  if (api === undefined) return;
  if (api.enabled === true && api.token === null) {
    problems.push({
      path: "admin.api.token",
      message:
        "is required when admin.api.enabled is true: set it to ${PORTCULLIS_ADMIN_TOKEN} and export a secret of 32+ characters (e.g. from `openssl rand -base64 32`)",
    });
  }
  // What an Authorization header carries as one bearer token (createAdminApi reads no more).
  if (typeof api.token === "string" && !/^[\x21-\x7e]{1,1024}$/.test(api.token)) {
    problems.push({
      path: "admin.api.token",
      message:
        "must be at most 1024 printable ASCII characters without spaces (it is sent as `Authorization: Bearer <token>`), e.g. from `openssl rand -base64 32`",
    });
  }
  const host = config.listen?.admin?.host;
  if (api.enabled === true && host !== undefined && !/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/.test(host)) {
    warnings.push({
      path: "admin.api.enabled",
      message: `serves the session admin API on listen.admin (${host}), which is not on loopback: only the token guards it, so keep that port unreachable from clients (a NetworkPolicy or firewall)`,
    });
  }
  if (typeof api.token === "string" && !secretPaths.has("admin.api.token")) {
    problems.push({
      path: "admin.api.token",
      message:
        "must come from the environment, not be written in the file: replace it with ${PORTCULLIS_ADMIN_TOKEN} and export the token in that variable",
    });
  }
}
