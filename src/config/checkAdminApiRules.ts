// The admin API's token: required when the API is on, and only from the environment, so a token is
// never committed with the config file (and a config shared for support never carries it). Its
// length is the schema's (sealingSecret); the value is never quoted.
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";

/** `secretPaths`: key paths whose value came from `${ENV}` (loadConfigFile's substitution). */
export function checkAdminApiRules(
  config: PartialConfig,
  { problems }: RuleFindings,
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
  if (typeof api.token === "string" && !secretPaths.has("admin.api.token")) {
    problems.push({
      path: "admin.api.token",
      message:
        "must come from the environment, not be written in the file: replace it with ${PORTCULLIS_ADMIN_TOKEN} and export the token in that variable",
    });
  }
}
