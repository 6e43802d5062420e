// The result of verifying a bearer token: a value for every denial; only faults are exceptions
// (see VerifierFault). `detail` is for logs and never contains the token.
import type { JWTPayload } from "jose";
import type { TokenErrorCode } from "../errors/ErrorCode.ts";

export type VerifyOutcome =
  | {
      readonly ok: true;
      readonly provider: string;
      /** Deep-frozen verified claims. */
      readonly claims: Readonly<JWTPayload>;
      /** The token's `exp`, epoch seconds. */
      readonly expiresAt: number;
    }
  | {
      readonly ok: false;
      readonly code: TokenErrorCode;
      readonly provider?: string;
      readonly detail: string;
    };
