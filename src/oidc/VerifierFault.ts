// Thrown (never returned) by token verification when something failed that no token can cause:
// an unrecognised library error, a bug, a misbehaving IdP key, or an IdP endpoint that cannot be
// reached. The gate denies (503) and logs it once; `cause` keeps the original error for that log.

export class VerifierFault extends Error {
  readonly code = "verifier_fault";
  /** The IdP could not be reached in time (network, timeout, 5xx): an outage, not a bug. */
  readonly unavailable: boolean;
  constructor(message: string, options?: { cause?: unknown; unavailable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "VerifierFault";
    this.unavailable = options?.unavailable === true;
  }
}
