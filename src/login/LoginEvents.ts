// What the login steps report as they go (the composition root turns these into metrics).
// Reasons are stable codes, never free text, so they stay bounded metric labels.

export interface LoginEvents {
  /** `reason`: a plain login (`ok`), a step-up's, or an incremental consent's (`consent`). */
  loginStarted(provider: string, reason: "ok" | "step_up" | "consent"): void;
  loginCompleted(provider: string): void;
  loginFailed(provider: string | null, reason: string): void;
  refreshed(provider: string, result: "ok" | "ended" | "unavailable"): void;
  /** A session presented on a check was refused and ended by Portcullis itself (idle: session.idleTimeoutSeconds). */
  sessionEnded?(provider: string, reason: "idle"): void;
  backchannelLogout?(
    provider: string | null,
    result: "ok" | "invalid" | "replayed" | "unavailable",
    sessionsEnded: number,
  ): void;
}
