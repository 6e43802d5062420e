// How common upstream servers read the path they received, written as the request-target that names
// the same resource to a plain RFC 3986 reader (Envoy and Portcullis). The path property tests send
// each reading back through the gate: if the gate denies a reading it let through as received, the
// client got a looser decision than the upstream acts on.
//
// Paths are handled as byte strings (one char per byte, as Node's HTTP parser hands req.url over).

export interface PathReading {
  /** Which kind of server reads the path this way. */
  readonly server: string;
  /** A request-target (printable ASCII) meaning what that server serves. */
  readonly target: string;
}

const UNRESERVED_OR_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/** Byte-wise percent-decoding; malformed escapes stay as they are (as most servers leave them). */
export function percentDecodeBytes(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function escapeByte(byte: number): string {
  return "%" + byte.toString(16).toUpperCase().padStart(2, "0");
}

/** A decoded path (bytes) as a request-target: every byte a path may not carry raw is percent-encoded. */
export function encodeDecodedPath(decoded: string): string {
  let out = "";
  for (let i = 0; i < decoded.length; i++) {
    const char = decoded[i] as string;
    out += UNRESERVED_OR_SAFE.test(char) ? char : escapeByte(decoded.charCodeAt(i));
  }
  return out;
}

/** Raw bytes a request line cannot carry (space, controls, non-ASCII) escaped; the rest as is. */
export function sendableTarget(path: string): string {
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    out += code <= 0x20 || code >= 0x7f ? escapeByte(code) : path[i];
  }
  return out;
}

/**
 * The readings of `received` (the request-target an upstream got): as is; Express (routes match
 * case-insensitively); Tomcat/Spring/Jetty (`;params` dropped from every segment); a server that
 * percent-decodes twice; IIS (trailing dots and spaces of every segment trimmed); Express 5
 * (`strict: false`), Rails, ASP.NET Core (one trailing slash toggled: `/a/` and `/a` are one route;
 * never for `/`). A reading that a plain decoder reads as an earlier one is left out. The query is
 * kept as is on every reading.
 */
export function upstreamPathReadings(received: string): PathReading[] {
  const q = received.indexOf("?");
  const path = q === -1 ? received : received.slice(0, q);
  const query = q === -1 ? "" : received.slice(q);
  const readings: PathReading[] = [
    { server: "any server (the path as received)", target: sendableTarget(path) },
    { server: "Express (case-insensitive routing)", target: sendableTarget(path.toLowerCase()) },
    {
      server: "Tomcat/Spring/Jetty (;params stripped)",
      target: sendableTarget(
        path
          .split("/")
          .map((segment) => segment.split(";")[0])
          .join("/"),
      ),
    },
    { server: "a double-decoding server", target: encodeDecodedPath(percentDecodeBytes(percentDecodeBytes(path))) },
    {
      server: "IIS (trailing dots and spaces trimmed)",
      target: encodeDecodedPath(
        percentDecodeBytes(path)
          .split("/")
          .map((segment) => segment.replace(/[. ]+$/, ""))
          .join("/"),
      ),
    },
    {
      server: "Express 5, Rails, ASP.NET Core (trailing slash toggled)",
      target: sendableTarget(toggleTrailingSlash(path)),
    },
  ];
  const seen = new Set<string>();
  const distinct: PathReading[] = [];
  for (const reading of readings) {
    // Equal targets, or one a plain decoder reads as the same path, add nothing.
    const key = encodeDecodedPath(percentDecodeBytes(reading.target));
    if (seen.has(reading.target) || seen.has(key)) continue;
    seen.add(reading.target);
    seen.add(key);
    distinct.push({ server: reading.server, target: reading.target + query });
  }
  return distinct;
}

/** `path` with one trailing slash removed if it has one, else added; `/` stays `/`. */
function toggleTrailingSlash(path: string): string {
  if (path === "/" || path === "") return path;
  return path.endsWith("/") ? path.slice(0, -1) : `${path}/`;
}
