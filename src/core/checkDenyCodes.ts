// A config rule (config/ConfigRule.ts) the composition root adds to parsing: a deny rule's `code`
// must not be one of Portcullis's own codes (docs/errors.md) other than `policy_denied`, because a
// client acts on those (`token_expired` makes it refresh, `login_required` sign in) and would act
// wrongly on a policy's refusal. The code's spelling is the schema's (config/denyRuleSchema.ts).

import type { PartialConfig, RuleFindings } from "../config/checkConfigRules.ts";
import { keyPath } from "../config/keyPath.ts";
import { ERROR_CODES } from "../errors/ErrorCode.ts";

const OWN = "policy_denied";

export function checkDenyCodes(config: PartialConfig, { problems }: RuleFindings): void {
  (config.routes ?? []).forEach((route, index) => {
    (route?.deny ?? []).forEach((rule, i) => {
      const code = rule?.code;
      if (code === undefined || code === OWN || !Object.hasOwn(ERROR_CODES, code)) return;
      problems.push({
        path: keyPath(keyPath(keyPath(keyPath("routes", index), "deny"), i), "code"),
        message: `"${code}" is one of Portcullis's own codes, which clients act on (docs/errors.md); name the policy's reason instead, such as blocked_client, or use policy_denied`,
      });
    });
  });
}
