// Removes our own cookies from a Cookie header before it goes upstream, so a service never sees a
// session it could leak. Scans the WHOLE header (unlike parseCookieHeader's bounds): a cookie of ours
// must not slip through for being late in the header. Other segments are passed on untouched.

import { parseCookiePair } from "./parseCookieHeader.ts";

export function stripCookies(header: string, owns: (name: string) => boolean): string | null {
  const kept: string[] = [];
  for (const segment of header.split(";")) {
    const trimmed = segment.trim();
    if (trimmed.length === 0) continue;
    const pair = parseCookiePair(trimmed);
    // A malformed segment whose name-part still looks like ours goes too: never forward it.
    const name = pair?.name ?? trimmed.split("=", 1)[0]!.trim();
    if (owns(name)) continue;
    kept.push(trimmed);
  }
  return kept.length === 0 ? null : kept.join("; ");
}
