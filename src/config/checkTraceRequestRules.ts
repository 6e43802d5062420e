// Cross-field rules of `log.traceRequests` (trace on demand): something must be able to open a
// trace, the secret comes from the environment (a file is read, copied and committed more widely than
// an environment), the header is not one Portcullis reads or sets for something else, and warnings
// when traces would not appear (log.level above info) or every address is trusted.

import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

const PATH = "log.traceRequests";
/** Headers with a meaning of their own on the Check: a trace header by one of these names would lose it upstream. */
const TAKEN_HEADERS: ReadonlySet<string> = new Set([
  "dpop",
  "x-request-id",
  "x-forwarded-client-cert",
  "traceparent",
  "tracestate",
  "b3",
  "accept",
  "content-type",
  "sec-fetch-mode",
  "x-requested-with",
]);
const EVERY_ADDRESS = /^(?:0\.0\.0\.0|::|0:0:0:0:0:0:0:0)\/0$/;

/** `fromEnvironment`: the key paths whose value came from `${ENV}` (loadConfigFile's substituted paths). */
export function checkTraceRequestRules(
  config: PartialConfig,
  { problems, warnings }: RuleFindings,
  fromEnvironment: ReadonlySet<string>,
): void {
  const section = config.log?.traceRequests;
  if (section === undefined) return;
  const secretPath = keyPath(PATH, "secret");
  // Refused even while the section is off: the file holds the secret either way.
  if (typeof section.secret === "string" && !fromEnvironment.has(secretPath))
    problems.push({
      path: secretPath,
      message:
        "is written in the config file: pass it through the environment instead, e.g. secret: ${PORTCULLIS_TRACE_SECRET} (32+ characters, from `openssl rand -base64 32`)",
    });
  if (section.enabled !== true) return;
  const addresses = section.trustedAddresses ?? [];
  // A secret that failed its own check is a hole (undefined), not a missing one (null): said once.
  if (addresses.length === 0 && section.secret === null)
    problems.push({
      path: keyPath(PATH, "enabled"),
      message:
        "is true but nothing can open a trace: list trustedAddresses (e.g. your operators' network) or set secret through ${ENV_VAR}",
    });
  const header = section.header;
  if (header !== undefined) checkHeader(config, header, problems);
  const everyone = addresses.findIndex((block) => typeof block === "string" && EVERY_ADDRESS.test(block));
  if (everyone >= 0)
    warnings.push({
      path: keyPath(keyPath(PATH, "trustedAddresses"), everyone),
      message:
        "trusts every address: any client can have its requests' decisions logged (at most maxPerSecond a second); list your operators' networks instead",
    });
  const level = config.log?.level;
  if (level === "warn" || level === "error")
    warnings.push({
      path: keyPath(PATH, "enabled"),
      message: `is true but log.level is ${level}: traces are logged at info and will not appear; set log.level: info`,
    });
}

/** The trace header must not be one Portcullis sets upstream or reads for another purpose. */
function checkHeader(config: PartialConfig, header: string, problems: RuleFindings["problems"]): void {
  const path = keyPath(PATH, "header");
  const identity = config.identity ?? {};
  const owned = [
    ...Object.entries(identity.headers ?? {}).map(([key, name]) => [keyPath("identity.headers", key), name] as const),
    ...Object.keys(identity.claimHeaders ?? {}).map((name) => [keyPath("identity.claimHeaders", name), name] as const),
    ...(identity.assertion?.header !== undefined
      ? [[keyPath("identity.assertion", "header"), identity.assertion.header] as const]
      : []),
  ].find(([, name]) => name === header);
  if (owned !== undefined)
    problems.push({
      path,
      message: `header ${JSON.stringify(header)} is already used by ${owned[0]}; pick another name, e.g. "x-portcullis-trace"`,
    });
  else if (TAKEN_HEADERS.has(header))
    problems.push({
      path,
      message: `is ${JSON.stringify(header)}, which Portcullis reads for another purpose and would remove before the upstream; pick another name, e.g. "x-portcullis-trace"`,
    });
}
