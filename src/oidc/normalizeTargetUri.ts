// One spelling of an http(s) URI for comparing a DPoP proof's `htu` with the URI the request was sent
// to (RFC 9449 §4.3: query and fragment ignored; RFC 3986 §6.2.2 syntax-based and §6.2.3 scheme-based
// normalisation): scheme and host lower-cased, the scheme's default port dropped, an empty path made
// "/", dot segments removed, percent-escapes upper-cased and those of unreserved characters decoded.
// Anything that is not a plain absolute http(s) URI (userinfo, a relative reference, too long) is null.

/** Longer than any request target Envoy passes on by default (60 KiB headers in all), bounded anyway. */
export const MAX_TARGET_URI_CHARS = 8192;

const DEFAULT_PORTS: Readonly<Record<string, string>> = { "http:": "80", "https:": "443" };
const ESCAPE = /%([0-9A-Fa-f]{2})/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** The normalised `scheme://host[:port]/path`, or null when `uri` is not one absolute http(s) URI. */
export function normalizeTargetUri(uri: string): string | null {
  if (uri.length === 0 || uri.length > MAX_TARGET_URI_CHARS) return null;
  // The WHATWG parser forgives what RFC 3986 does not (backslashes, tabs, spaces, missing slashes);
  // such a string is no URI a client signed on purpose.
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[\x21-\x7E]+$/.test(uri) || uri.includes("\\")) return null;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined || url.username !== "" || url.password !== "" || url.hostname === "") return null;
  // URL has lower-cased scheme and host, dropped the default port, removed dot segments and made an
  // empty path "/"; the escapes are left as written, so they are normalised here.
  const port = url.port === "" || url.port === defaultPort ? "" : `:${url.port}`;
  return `${url.protocol}//${url.hostname}${port}${normalizeEscapes(url.pathname)}`;
}

/** The URI a request was sent to, from the scheme, authority and path (query dropped) as Envoy saw them. */
export function requestTargetUri(scheme: string, authority: string, path: string): string | null {
  const query = path.search(/[?#]/);
  return normalizeTargetUri(`${scheme.toLowerCase()}://${authority}${query === -1 ? path : path.slice(0, query)}`);
}

function normalizeEscapes(path: string): string {
  if (!path.includes("%")) return path;
  return path.replace(ESCAPE, (_escape, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}
