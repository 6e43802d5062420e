// Thrown when a sealed session needs more cookies than the configured chunk limit allows. It carries
// sizes only, never the session, so it can be logged as is.

export class SessionTooLargeError extends Error {
  readonly code = "session_too_large";
  readonly sealedLength: number;
  readonly maxChunks: number;

  constructor(sealedLength: number, chunksNeeded: number, maxChunks: number) {
    super(`session needs ${chunksNeeded} cookies (${sealedLength} sealed characters); the limit is ${maxChunks}`);
    this.name = "SessionTooLargeError";
    this.sealedLength = sealedLength;
    this.maxChunks = maxChunks;
  }
}
