// Cross-field rules of `identity.metadata`: a bounded number of claims, and none that names a
// credential or key material (the metadata reaches Envoy's access log and rate-limit service, which
// must never see a token, a secret or a token binding).

import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

const PATH = "identity.metadata";
export const MAX_METADATA_CLAIMS = 16;
/** A claim whose name says it holds a credential or key: never copied out. */
const CREDENTIAL_NAME = /token|secret|password|passwd|^cnf$|^jwk$|_hash$/i;

export function checkMetadataRules(config: PartialConfig, { problems }: RuleFindings): void {
  const claims = config.identity?.metadata?.claims;
  if (!Array.isArray(claims)) return;
  if (claims.length > MAX_METADATA_CLAIMS)
    problems.push({
      path: keyPath(PATH, "claims"),
      message: `lists ${claims.length} claims; at most ${MAX_METADATA_CLAIMS} are sent: keep those your rate limits and access log use`,
    });
  claims.forEach((claim, index) => {
    const last = typeof claim === "string" ? (claim.split(".").at(-1) ?? "") : "";
    if (CREDENTIAL_NAME.test(last))
      problems.push({
        path: keyPath(keyPath(PATH, "claims"), index),
        message: `${JSON.stringify(claim)} names a credential or key: metadata reaches Envoy's logs and rate-limit service, so it never carries one; remove it`,
      });
  });
}
