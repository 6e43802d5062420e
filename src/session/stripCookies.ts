// Removes our own cookies from a Cookie header before it goes upstream, so a service never sees a
// session it could leak. Scans the WHOLE header (unlike parseCookieHeader's bounds): a cookie of ours
// must not slip through for being late in the header. Other segments are passed on untouched.
// Two HTTP/1.1 Cookie headers reach us joined with "," (`a=1, __Host-s=…`), which upstream frameworks
// split on too: within a `;` segment each `,` part is checked as a cookie of its own, and only the
// parts of ours are cut, so another cookie's value that holds a "," survives unchanged.

import { parseCookiePair } from "./parseCookieHeader.ts";

/** The cookie name a segment or `,` part speaks for; a malformed one still counts by its name-part. */
function nameOf(part: string): string {
  const trimmed = part.trim();
  return parseCookiePair(trimmed)?.name ?? trimmed.split("=", 1)[0]!.trim();
}

/** The segment without the `,` parts that are ours; "" when nothing is left. */
function stripJoined(segment: string, owns: (name: string) => boolean): string {
  const parts = segment.split(",");
  if (!parts.some((part) => owns(nameOf(part)))) return segment;
  return parts
    .filter((part) => !owns(nameOf(part)))
    .join(",")
    .trim();
}

export function stripCookies(header: string, owns: (name: string) => boolean): string | null {
  const kept: string[] = [];
  for (const segment of header.split(";")) {
    const trimmed = segment.trim();
    if (trimmed.length === 0) continue;
    const rest = trimmed.includes(",") ? stripJoined(trimmed, owns) : owns(nameOf(trimmed)) ? "" : trimmed;
    if (rest.length > 0) kept.push(rest);
  }
  return kept.length === 0 ? null : kept.join("; ");
}
