// Where the `jti`s of accepted DPoP proofs are remembered for as long as a proof could be accepted,
// so each proof is used once (RFC 9449 §11.1): in memory for one replica
// (createMemoryDpopReplayStore), in Redis when replicas share state (session/createRedisDpopReplayStore).

/** A claim's answer; `unavailable` (a log-safe reason) when the store cannot tell, and the check fails closed. */
export type DpopReplayClaim = "fresh" | "replayed" | { readonly unavailable: string };

export interface DpopReplayStore {
  /**
   * Records `key` (a digest of the proof key's thumbprint and the proof's jti) for `ttlMs`: "fresh"
   * when it was not recorded yet, "replayed" when it was. A rejection counts as unavailable too.
   */
  claim(key: string, ttlMs: number): Promise<DpopReplayClaim>;
}
