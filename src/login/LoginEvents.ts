// What the login steps report as they go (the composition root turns these into metrics).
// Reasons are stable codes, never free text, so they stay bounded metric labels.

export interface LoginEvents {
  /** `reason`: a plain login (`ok`), a step-up's, or an incremental consent's (`consent`). */
  loginStarted(provider: string, reason: "ok" | "step_up" | "consent"): void;
  loginCompleted(provider: string): void;
  loginFailed(provider: string | null, reason: string): void;
  refreshed(provider: string, result: "ok" | "ended" | "unavailable"): void;
  /**
   * A session ended by Portcullis itself: refused on a check when idle for session.idleTimeoutSeconds
   * (`idle`), or replaced by a new login of the same browser, a step-up's, a consent's or a plain one (`replaced`).
   */
  sessionEnded?(provider: string, reason: "idle" | "replaced"): void;
  backchannelLogout?(
    provider: string | null,
    result: "ok" | "invalid" | "replayed" | "unavailable",
    sessionsEnded: number,
  ): void;
}
