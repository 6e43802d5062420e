// Decides where Portcullis may send a browser after login or logout: a same-origin absolute path, or
// an absolute http(s) URL on the base origin or an exact allowed origin. Anything else is null. Input
// must be printable ASCII (percent-encode the rest); backslashes and whitespace are refused outright.

export type RedirectPolicyOptions = { allowedOrigins: readonly string[] };

export type RedirectPolicy = {
  resolve(target: string, baseOrigin: string): string | null;
};

export const MAX_REDIRECT_TARGET_LENGTH = 2048;
// Printable ASCII without the backslash: browsers treat "\" as "/" in special URLs, so "/\evil.com"
// would become "//evil.com"; no legitimate return path needs a raw one.
const SAFE_CHARACTERS = /^[\x21-\x5b\x5d-\x7e]+$/;
const ABSOLUTE_HTTP = /^https?:\/\//i;

/** The exact origin `value` spells, or null when it is not already an http(s) origin in canonical form. */
function exactOrigin(value: string): string | null {
  if (typeof value !== "string") return null;
  const url = URL.parse(value);
  if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) return null;
  return url.origin === value ? url.origin : null;
}

export function createRedirectPolicy(options: RedirectPolicyOptions): RedirectPolicy {
  const allowed = new Set<string>();
  for (const entry of options.allowedOrigins) {
    const origin = exactOrigin(entry);
    if (origin === null) {
      throw new Error(
        `allowed redirect origin ${JSON.stringify(entry)} must be an exact origin such as "https://app.example.com" (scheme, lower-case host, optional port; no path, no trailing slash)`,
      );
    }
    allowed.add(origin);
  }

  function resolve(target: string, baseOrigin: string): string | null {
    const base = exactOrigin(baseOrigin);
    if (base === null) return null;
    if (typeof target !== "string" || target.length > MAX_REDIRECT_TARGET_LENGTH) return null;
    if (!SAFE_CHARACTERS.test(target)) return null;
    if (target.startsWith("/")) {
      if (target.startsWith("//")) return null;
      const url = URL.parse(target, base);
      // Dot segments may collapse "/.//evil.com" to the path "//evil.com": still same-origin as an
      // absolute URL, but refused so that nobody downstream can turn it into a relative redirect.
      if (url === null || url.origin !== base || url.pathname.startsWith("//")) return null;
      return url.href;
    }
    if (!ABSOLUTE_HTTP.test(target)) return null;
    const url = URL.parse(target);
    if (url === null || url.username !== "" || url.password !== "") return null;
    if (url.origin !== base && !allowed.has(url.origin)) return null;
    if (url.pathname.startsWith("//")) return null;
    return url.href;
  }

  return { resolve };
}
