// The Cookie header the upstream gets: Portcullis's own session and login cookies removed, and on a
// route whose token comes from a cookie (routes[].tokenSource.cookie), that cookie too, so the
// upstream never holds a credential it could leak.
import type { SessionPort } from "../login/SessionPort.ts";
import { stripCookies } from "../session/stripCookies.ts";
import type { RouteTokenSource } from "./RouteTokenSource.ts";

/** null = no cookie left (remove the header); undefined = unchanged. */
export function upstreamCookieOf(
  header: string | undefined,
  sessions: SessionPort | null,
  tokenSource: RouteTokenSource | undefined,
): string | null | undefined {
  if (header === undefined) return undefined;
  const tokenCookie = tokenSource?.kind === "cookie" ? tokenSource.name : null;
  const ours = sessions !== null && header.includes(sessions.cookiePrefix);
  if (!ours && (tokenCookie === null || !header.includes(tokenCookie))) return undefined;
  const stripped = stripCookies(header, (name) => name === tokenCookie || (sessions !== null && sessions.owns(name)));
  return stripped === header ? undefined : stripped;
}
