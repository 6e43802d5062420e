// The provider keys that narrow which of its verified tokens are accepted: the longest lifetime a
// token may have been issued with (`exp` − `iat`) and the subjects it may name. providerSchema.ts
// places them; verifyProviderJwt and judgeIntrospection apply them through checkTokenLimits.
import type { CustomNode, CustomReport, CustomResult, ListNode } from "./configSchema.ts";
import { nonBlank } from "./configFormats.ts";

/** The schema's bound on maxTokenLifetimeSeconds (30 days, as `session.maxTokenLifetimeSeconds`). */
export const MAX_TOKEN_LIFETIME_BOUND = 2_592_000;

function parseLifetime(value: unknown, path: string, report: CustomReport): CustomResult<number | null> {
  if (value === null) return { ok: true, value: null };
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_TOKEN_LIFETIME_BOUND) {
    report(path, `must be whole seconds from 1 to ${MAX_TOKEN_LIFETIME_BOUND} (e.g. 900), or null for no limit`, {
      value,
    });
    return { ok: false };
  }
  return { ok: true, value };
}

export const providerTokenLimitFields = {
  maxTokenLifetimeSeconds: {
    typeOptional: true,
    kind: "custom",
    typeLabel: `integer 1..${MAX_TOKEN_LIFETIME_BOUND} or null`,
    parse: parseLifetime,
    jsonSchema: { type: ["integer", "null"], minimum: 1, maximum: MAX_TOKEN_LIFETIME_BOUND },
    default: null,
    description:
      "Refuse a token issued to live longer than this (`exp` − `iat`, `token_lifetime_too_long`); a token without `iat` or `exp` is refused too. null = no limit. Bearer revocations (back-channel logout, the session admin API) are kept for at least the largest of these and `session.maxTokenLifetimeSeconds`. Example: `maxTokenLifetimeSeconds: 900` for short-lived tokens (OAuth 2.1).",
  } as const satisfies CustomNode<number | null>,
  subjects: {
    typeOptional: true,
    kind: "list",
    items: { kind: "string", format: nonBlank, description: "An accepted `sub`." },
    nonEmpty: true,
    unique: true,
    nullable: true,
    default: null,
    description:
      "Only tokens whose `sub` is one of these are accepted from this provider (`subject_not_allowed`); null = any subject. For a provider that only machine clients use, e.g. `subjects: [billing-batch, reporting]`.",
  } as const satisfies ListNode,
};
