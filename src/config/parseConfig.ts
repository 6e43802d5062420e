// Turns raw YAML data into the frozen, fully-defaulted PortcullisConfig: strict schema parse (with
// the keys of `apiKeys.file` read in), then cross-field rules, all problems reported at once, no side
// effects. Defaults come only from configSchema.ts.

import type { ConfigIssue } from "./ConfigIssue.ts";
import type { ConfigResult } from "./ConfigResult.ts";
import type { ConfigRule } from "./ConfigRule.ts";
import type { PortcullisConfig } from "./PortcullisConfig.ts";
import { checkAdminApiRules } from "./checkAdminApiRules.ts";
import { checkConfigRules } from "./checkConfigRules.ts";
import { configSchema } from "./configSchema.ts";
import { deepFreeze } from "./deepFreeze.ts";
import { INVALID, parseWithSchema } from "./parseWithSchema.ts";
import { applyProviderPresets } from "./presets/applyProviderPresets.ts";
import { withApiKeyFile } from "./withApiKeyFile.ts";
import type { SchemaOutput } from "./SchemaOutput.ts";

export interface ParseConfigOptions {
  /**
   * Key paths whose values came from `${ENV}` (loadConfigFile passes them): never quoted in messages,
   * and the only place a secret such as log.traceRequests.secret may come from.
   */
  readonly secretPaths?: ReadonlySet<string>;
  /** The variables behind each of those paths: an integer or boolean key reads `${PORT}` as its value. */
  readonly envVariables?: ReadonlyMap<string, readonly string[]>;
  /** Route rules from rooms the config may not import (core's route-matching warnings); app/ passes them. */
  readonly routeRules?: readonly ConfigRule[];
}

export type { ConfigResult } from "./ConfigResult.ts";

export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): ConfigResult {
  const problems: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  if (raw === null || raw === undefined) {
    return {
      ok: false,
      problems: [{ path: "(root)", message: "the config is empty; at least `routes` is required" }],
      warnings,
    };
  }
  // Presets first: their values then go through the same checks as anything the user wrote.
  const parsed = parseWithSchema(configSchema, applyProviderPresets(raw), {
    problems,
    secretPaths: options.secretPaths ?? new Set(),
    ...(options.envVariables === undefined ? {} : { envVariables: options.envVariables }),
  });
  // With problems the output is partial (holes where a value failed): the rules read it as such.
  if (parsed !== INVALID) {
    checkConfigRules(parsed, { problems, warnings }, options.routeRules, options.secretPaths ?? new Set());
    checkAdminApiRules(parsed, { problems, warnings }, options.secretPaths ?? new Set());
  }
  // The keys file is read once per generation, after the rules (which check the inline keys; the
  // file's own checks name the file and entry): what the pipeline gets is that one read.
  const complete = parsed === INVALID ? INVALID : withApiKeyFile(parsed, problems);
  if (problems.length > 0 || complete === INVALID) return { ok: false, problems, warnings };
  return { ok: true, config: deepFreeze(resolveDerivedDefaults(complete)), warnings };
}

/** Defaults that depend on other keys, filled in once the whole config is valid. */
function resolveDerivedDefaults(parsed: SchemaOutput<typeof configSchema>): PortcullisConfig {
  const { cookieName, cookieDomain } = parsed.session;
  // __Host- binds the cookie to the exact host, Secure and Path=/; it cannot carry a Domain.
  const name = cookieName ?? (cookieDomain === null ? "__Host-portcullis" : "portcullis");
  return { ...parsed, session: { ...parsed.session, cookieName: name } };
}
