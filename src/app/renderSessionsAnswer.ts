// The human form of an admin API answer for `portcullis sessions`: a table of sessions (times in
// UTC, ISO 8601 to the second), or one line saying what was ended and where.
import type { ListedSession } from "../session/createSessionAdmin.ts";
import type { SessionsRequest } from "./callSessionsAdmin.ts";

export function renderSessionsAnswer(request: SessionsRequest, body: unknown): string {
  if (request.kind === "list") {
    const { sub, sessions } = body as { sub: string; sessions: readonly ListedSession[] };
    if (sessions.length === 0) return `no active sessions of sub ${JSON.stringify(sub)}\n`;
    const rows = [
      ["HANDLE", "PROVIDER", "CREATED", "LAST SEEN", "EXPIRES", "USER AGENT"],
      ...sessions.map((s) => [
        s.handle,
        s.provider,
        time(s.createdAt),
        time(s.lastSeenAt),
        time(s.expiresAt),
        s.userAgentDigest ?? "-",
      ]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    const lines = rows.map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
    const count = `${sessions.length} session${sessions.length === 1 ? "" : "s"} of sub ${JSON.stringify(sub)}`;
    return `${lines.join("\n")}\n${count}\n`;
  }
  if (request.kind === "end_session") return `ended session ${request.handle} on every replica\n`;
  const ended = body as {
    sub: string;
    providers: readonly string[];
    revokedAt: number;
    sessionsDeleted: number;
    everyReplica: boolean;
  };
  const where = ended.everyReplica ? "every replica" : "this replica only (no Redis)";
  return (
    `ended every session of sub ${JSON.stringify(ended.sub)} at ${ended.providers.join(", ")} created until ` +
    `${time(ended.revokedAt)} on ${where}; ${ended.sessionsDeleted} stored session(s) deleted\n`
  );
}

function time(epochSeconds: number | null): string {
  return epochSeconds === null ? "-" : new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}
