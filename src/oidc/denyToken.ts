// A token denial as a VerifyOutcome value, with the provider when one was picked.
import type { TokenErrorCode } from "../errors/ErrorCode.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";

export function denyToken(code: TokenErrorCode, detail: string, provider?: string): VerifyOutcome {
  return provider === undefined ? { ok: false, code, detail } : { ok: false, code, provider, detail };
}
