// Reads Set-Cookie header values the way the tests need them: name, value and attributes (names
// lower-cased, flags as true), so an assertion can say "HttpOnly, Secure, SameSite=Lax, Max-Age ≤ 600".
// Not a browser's cookie parser: it never decides what a browser would store.

export interface SetCookie {
  readonly name: string;
  readonly value: string;
  /** Attribute names lower-cased; a flag (HttpOnly) maps to true. */
  readonly attributes: ReadonlyMap<string, string | true>;
}

export function parseSetCookie(header: string): SetCookie {
  const [pair = "", ...rest] = header.split(";");
  const eq = pair.indexOf("=");
  const attributes = new Map<string, string | true>();
  for (const part of rest) {
    const at = part.indexOf("=");
    if (at === -1) attributes.set(part.trim().toLowerCase(), true);
    else attributes.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

/** Every Set-Cookie of a Node response's headers (none → []). */
export function setCookiesOf(headers: Readonly<Record<string, string | string[] | undefined>>): SetCookie[] {
  const raw = headers["set-cookie"];
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return values.map(parseSetCookie);
}
