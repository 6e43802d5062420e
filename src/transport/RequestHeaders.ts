// What the node:net server reads of a request's header block, and RFC 9113's rules for each field of it
// (§8.2.1 names and values, §8.2.2 connection-specific fields, §8.3.1 pseudo-headers) and of its
// trailers (§8.1: no pseudo-headers). A request that breaks one is malformed: refused on its stream,
// as node:http2 (nghttp2) and Go's server refuse it, before any call exists.

/** What a gRPC call reads of its request headers; everything else is only counted and checked. */
export interface RequestHeaders {
  method: string | undefined;
  path: string | undefined;
  contentType: string | undefined;
  timeout: string | undefined;
  encoding: string | undefined;
  /** content-length, or -1 without one: the DATA must add up to it (RFC 9113 §8.1.1). */
  contentLength: number;
  /** Which of the fields that may appear once were seen (Seen bits). */
  seen: number;
  /** Why the block is not a valid HTTP/2 request (the stream is refused), or undefined. */
  malformed: string | undefined;
}

const Seen = { METHOD: 1, SCHEME: 2, PATH: 4, AUTHORITY: 8, HOST: 16, CONTENT_LENGTH: 32, REGULAR: 64 } as const;
const REQUIRED = Seen.METHOD | Seen.SCHEME | Seen.PATH;

/** Fields that carry HTTP/1.1 connection semantics and may not appear in HTTP/2 (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** Byte classes, one table: a name's bytes (RFC 9110 tchar, lower-case), a value's, an authority's, a scheme's. */
const NAME = 1;
const VALUE = 2;
const AUTHORITY = 4;
const SCHEME = 8;
const BYTES = new Uint8Array(256);
const mark = (chars: string, bit: number) => {
  for (let i = 0; i < chars.length; i++) BYTES[chars.charCodeAt(i)]! |= bit;
};
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGIT = "0123456789";
mark(LOWER + DIGIT + "!#$%&'*+-.^_`|~", NAME);
// field-value (RFC 9110 §5.5): visible ASCII, SP, HTAB and obs-text; never NUL, CR, LF or another control.
for (let byte = 0x20; byte < 0x100; byte++) if (byte !== 0x7f) BYTES[byte]! |= VALUE;
BYTES[0x09]! |= VALUE;
// authority (RFC 3986 §3.2) without userinfo (RFC 9113 §8.3.1): unreserved, pct-encoded, sub-delims, ':', '[', ']'.
mark(LOWER + LOWER.toUpperCase() + DIGIT + "-._~%!$&'()*+,;=:[]", AUTHORITY);
mark(LOWER + LOWER.toUpperCase() + DIGIT + "+-.", SCHEME);

export function newRequestHeaders(): RequestHeaders {
  return {
    method: undefined,
    path: undefined,
    contentType: undefined,
    timeout: undefined,
    encoding: undefined,
    contentLength: -1,
    seen: 0,
    malformed: undefined,
  };
}

/**
 * Whether a field's name (a pseudo-header's is checked against the four a request may have) and value
 * have only the characters RFC 9113 §8.2.1 allows. The HPACK decoder keeps the answer with each entry
 * of its dynamic table, so a field sent again by its index is not scanned again.
 */
export function fieldCharsOk(name: string, value: string): boolean {
  return (name.charCodeAt(0) === 0x3a || (name.length > 0 && isOf(name, NAME))) && isFieldValue(value);
}

/**
 * One field of a request's header block, in order, and its fieldCharsOk; marks `out` malformed at the
 * first rule it breaks.
 */
export function readRequestField(out: RequestHeaders, name: string, value: string, charsOk: boolean): void {
  if (!charsOk) out.malformed = charsProblem(name);
  else if (name.charCodeAt(0) !== 0x3a) {
    out.seen |= Seen.REGULAR;
    out.malformed = regularField(out, name, value, false);
  } else if (out.seen & Seen.REGULAR) out.malformed = "pseudo-header after a regular header";
  else out.malformed = pseudoField(out, name, value);
}

/** One field of a request's trailers: regular fields only, by the same rules; none of them is read. */
export function readTrailerField(out: RequestHeaders, name: string, value: string, charsOk: boolean): void {
  if (!charsOk) out.malformed = charsProblem(name);
  else if (name.charCodeAt(0) === 0x3a) out.malformed = `pseudo-header ${name} in trailers`;
  else out.malformed = regularField(out, name, value, true);
}

/** Why fieldCharsOk refused a field. */
function charsProblem(name: string): string {
  if (name.charCodeAt(0) !== 0x3a && (name.length === 0 || !isOf(name, NAME)))
    return /[A-Z]/.test(name) ? "header name with upper-case letters" : "invalid header name";
  return `invalid value of ${name}`;
}

/** After a request's last field: the pseudo-headers every request needs (RFC 9113 §8.3.1). */
export function endRequestHeaders(out: RequestHeaders): void {
  if (out.malformed !== undefined) return;
  if ((out.seen & REQUIRED) !== REQUIRED) out.malformed = "missing :method, :scheme or :path";
  else if ((out.seen & (Seen.AUTHORITY | Seen.HOST)) === 0) out.malformed = "neither :authority nor host";
}

function pseudoField(out: RequestHeaders, name: string, value: string): string | undefined {
  const bit = PSEUDO_BITS.get(name);
  if (bit === undefined) return `pseudo-header ${name} not allowed in a request`;
  if (out.seen & bit) return `duplicate ${name}`;
  out.seen |= bit;
  if (value.length === 0) return `empty ${name}`;
  if (bit === Seen.METHOD) out.method = value;
  else if (bit === Seen.PATH) out.path = value;
  else if (bit === Seen.SCHEME) return isScheme(value) ? undefined : "invalid :scheme";
  else return isOf(value, AUTHORITY) ? undefined : "invalid :authority";
  return undefined;
}

const PSEUDO_BITS = new Map<string, number>([
  [":method", Seen.METHOD],
  [":scheme", Seen.SCHEME],
  [":path", Seen.PATH],
  [":authority", Seen.AUTHORITY],
]);

function regularField(out: RequestHeaders, name: string, value: string, trailer: boolean): string | undefined {
  switch (name) {
    case "te":
      return value === "trailers" ? undefined : "te other than trailers";
    case "content-type":
      out.contentType = out.contentType === undefined ? value : `${out.contentType}, ${value}`;
      return undefined;
    case "grpc-timeout":
      out.timeout = out.timeout === undefined ? value : "";
      return undefined;
    case "grpc-encoding":
      out.encoding = out.encoding === undefined ? value : "";
      return undefined;
    case "host":
      if (out.seen & Seen.HOST) return "duplicate host";
      out.seen |= Seen.HOST;
      return value.length > 0 && isOf(value, AUTHORITY) ? undefined : "invalid host";
    case "content-length":
      if (trailer) return "content-length in trailers";
      if (out.seen & Seen.CONTENT_LENGTH) return "duplicate content-length";
      out.seen |= Seen.CONTENT_LENGTH;
      out.contentLength = /^[0-9]{1,15}$/.test(value) ? Number(value) : -1;
      return out.contentLength === -1 ? "invalid content-length" : undefined;
    default:
      return CONNECTION_SPECIFIC.has(name) ? `connection-specific header ${name}` : undefined;
  }
}

/** Every character of `text` in the byte class `bit` (latin1 strings: one character per byte). */
function isOf(text: string, bit: number): boolean {
  for (let i = 0; i < text.length; i++) if ((BYTES[text.charCodeAt(i)]! & bit) === 0) return false;
  return true;
}

/** A field value of RFC 9110 §5.5, which also has no leading or trailing whitespace (RFC 9113 §8.2.1). */
function isFieldValue(value: string): boolean {
  if (value.length === 0) return true;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  return isOf(value, VALUE);
}

/** RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
function isScheme(value: string): boolean {
  const first = value.charCodeAt(0) | 0x20;
  return first >= 0x61 && first <= 0x7a && isOf(value, SCHEME);
}
