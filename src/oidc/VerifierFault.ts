// Thrown (never returned) by token verification when something failed that no token can cause:
// an unrecognised library error, a bug, a misbehaving IdP key. The gate denies with internal_error
// and logs it once; `cause` keeps the original error for that log.

export class VerifierFault extends Error {
  readonly code = "verifier_fault";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "VerifierFault";
  }
}
