// Builds one Set-Cookie header value, refusing (throwing) anything a browser would misread: a name
// that is not an RFC 6265 token, a value outside cookie-octets, a bad Domain/Path/Max-Age, and the
// __Host-/__Secure- prefix rules. Invalid input here is a programming or config error, not user data.

export type CookieAttributes = {
  path?: string;
  domain?: string | null;
  maxAge?: number;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: "Strict" | "Lax" | "None";
};

// RFC 7230 tchar: the characters a cookie-name (token) may have.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265 cookie-octet: printable ASCII except space, DQUOTE, comma, semicolon and backslash.
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;

/** The attributes of every cookie Portcullis sets: whole site, script-proof, HTTPS only, Lax. */
export function portcullisCookieAttributes(domain: string | null, maxAge: number): CookieAttributes {
  return { path: "/", domain, maxAge, httpOnly: true, secure: true, sameSite: "Lax" };
}

export function isCookieName(name: string): boolean {
  return typeof name === "string" && COOKIE_NAME.test(name);
}

export function isCookieValue(value: string): boolean {
  return typeof value === "string" && COOKIE_VALUE.test(value);
}

export function serializeCookie(name: string, value: string, attributes: CookieAttributes = {}): string {
  if (!isCookieName(name)) throw new Error(`cookie name ${JSON.stringify(name)} is not a valid token`);
  // The value is often a secret: say which cookie, never what it held.
  if (!isCookieValue(value)) throw new Error(`cookie ${name}: value has characters not allowed in a cookie`);
  const { path, domain, maxAge, httpOnly, secure, sameSite } = attributes;
  const parts = [`${name}=${value}`];
  if (path !== undefined) {
    if (!PATH.test(path)) throw new Error(`cookie ${name}: invalid Path ${JSON.stringify(path)}`);
    parts.push(`Path=${path}`);
  }
  if (domain !== undefined && domain !== null) {
    if (!DOMAIN.test(domain)) throw new Error(`cookie ${name}: invalid Domain ${JSON.stringify(domain)}`);
    parts.push(`Domain=${domain}`);
  }
  if (maxAge !== undefined) {
    if (!Number.isSafeInteger(maxAge) || maxAge < 0) {
      throw new Error(`cookie ${name}: Max-Age must be a non-negative integer (got ${maxAge})`);
    }
    parts.push(`Max-Age=${maxAge}`);
  }
  if (httpOnly === true) parts.push("HttpOnly");
  if (secure === true) parts.push("Secure");
  if (sameSite !== undefined) {
    if (sameSite !== "Strict" && sameSite !== "Lax" && sameSite !== "None") {
      throw new Error(`cookie ${name}: invalid SameSite ${JSON.stringify(sameSite)}`);
    }
    if (sameSite === "None" && secure !== true) throw new Error(`cookie ${name}: SameSite=None requires Secure`);
    parts.push(`SameSite=${sameSite}`);
  }
  // Browsers silently drop cookies that break the prefix rules (RFC 6265bis 4.1.3): fail loudly instead.
  if (name.startsWith("__Secure-") && secure !== true)
    throw new Error(`cookie ${name}: the __Secure- prefix requires Secure`);
  if (name.startsWith("__Host-")) {
    if (secure !== true || path !== "/" || (domain !== undefined && domain !== null)) {
      throw new Error(`cookie ${name}: the __Host- prefix requires Secure, Path=/ and no Domain`);
    }
  }
  return parts.join("; ");
}
