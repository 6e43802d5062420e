// Reads x-forwarded-client-cert (XFCC) as Envoy and most meshes write it, on a route that trusts the
// hop in front (routes[].mtls.trustForwardedClientCert): elements joined by ",", each `key=value`
// pairs joined by ";", a value holding `,` `;` `=` or a quote written in double quotes (its
// backslash escapes kept as written: Envoy's Subject is RFC 4514 text in quotes). Strict: an
// unknown key, a key given twice (except URI and DNS), a Hash that is not hex SHA-256, a Cert that is
// not one certificate or does not hash to Hash, and (unless configured) more than one element are
// refused, with a reason for the log. Never called for a hop the route does not trust.
import { MAX_CERTIFICATE_NAMES, MAX_CLIENT_CERTIFICATE_CHARS, type ClientCertificate } from "./ClientCertificate.ts";
import { parseClientCertificate } from "./parseClientCertificate.ts";

export const FORWARDED_CLIENT_CERT_HEADER = "x-forwarded-client-cert";

export type ForwardedClientCert =
  { readonly ok: true; readonly certificate: ClientCertificate } | { readonly ok: false; readonly problem: string };

/** One element per proxy hop (`one`: a second is ambiguous) or the last (`last`: the nearest hop's). */
export type ForwardedElements = "one" | "last";

/** An element holds the client's PEM and perhaps a chain: twice the bound of one certificate, and some. */
const MAX_HEADER_CHARS = 3 * MAX_CLIENT_CERTIFICATE_CHARS;
const SINGLE_KEYS = new Set(["By", "Hash", "Cert", "Chain", "Subject"]);
const REPEATED_KEYS = new Set(["URI", "DNS"]);

export function parseForwardedClientCert(header: string, elements: ForwardedElements): ForwardedClientCert {
  if (header.length > MAX_HEADER_CHARS) return refused(`longer than ${MAX_HEADER_CHARS} characters`);
  const split = splitUnquoted(header, ",");
  if (split === null) return refused("an unterminated quoted value");
  if (split.length > 1 && elements === "one")
    return refused(`${split.length} elements (more than one hop appended to it; see forwardedClientCertElements)`);
  const pairs = readPairs(split[split.length - 1]!);
  if (typeof pairs === "string") return refused(pairs);
  return certificateOfElement(pairs);
}

function refused(problem: string): ForwardedClientCert {
  return { ok: false, problem: `x-forwarded-client-cert: ${problem}` };
}

/** key → values of one element, or why it is not one. */
function readPairs(element: string): Map<string, string[]> | string {
  const pairs = new Map<string, string[]>();
  for (const pair of splitUnquoted(element, ";") ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return "a field that is not key=value";
    const key = pair.slice(0, eq).trim();
    const value = unquote(pair.slice(eq + 1).trim());
    if (value === null) return `a malformed quoted value of ${key.slice(0, 20)}`;
    if (!SINGLE_KEYS.has(key) && !REPEATED_KEYS.has(key)) return `unknown key ${JSON.stringify(key.slice(0, 20))}`;
    const values = pairs.get(key) ?? [];
    if (values.length > 0 && SINGLE_KEYS.has(key)) return `${key} given twice`;
    if (values.length >= MAX_CERTIFICATE_NAMES) return `more than ${MAX_CERTIFICATE_NAMES} ${key} values`;
    values.push(value);
    pairs.set(key, values);
  }
  return pairs;
}

function certificateOfElement(pairs: ReadonlyMap<string, readonly string[]>): ForwardedClientCert {
  const hash = pairs.get("Hash")?.[0];
  if (hash !== undefined && !/^[0-9a-fA-F]{64}$/.test(hash)) return refused("Hash is not a hex SHA-256");
  const hashed = hash === undefined ? undefined : Buffer.from(hash, "hex").toString("base64url");
  const pem = pairs.get("Cert")?.[0];
  if (pem !== undefined) {
    const certificate = parseClientCertificate(pem);
    if (certificate === null) return refused("Cert is not one readable certificate");
    if (hashed !== undefined && hashed !== certificate.thumbprint) return refused("Cert does not hash to Hash");
    return { ok: true, certificate };
  }
  if (hashed === undefined) return refused("neither Hash nor Cert");
  return {
    ok: true,
    certificate: Object.freeze({
      thumbprint: hashed,
      subject: pairs.get("Subject")?.[0] ?? null,
      uris: Object.freeze([...(pairs.get("URI") ?? [])]),
      dnsNames: Object.freeze((pairs.get("DNS") ?? []).map((name) => name.toLowerCase())),
    }),
  };
}

/** `text` split at every `separator` outside double quotes; null when a quote is left open. */
function splitUnquoted(text: string, separator: string): string[] | null {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) return null;
  parts.push(text.slice(start));
  return parts;
}

/**
 * A value as written: bare, or the content between double quotes exactly as it stands. Envoy wraps
 * the subject's RFC 4514 text in quotes without escaping it again (that text already writes `"` and
 * `\` as `\"` and `\\`), so its escapes are the subject's own and stay: the subject then reads
 * as the peer certificate's does. A quote inside that is not escaped is malformed: null.
 */
function unquote(value: string): string | null {
  if (!value.startsWith('"')) return value.includes('"') ? null : value;
  if (value.length < 2 || !value.endsWith('"')) return null;
  const inner = value.slice(1, -1);
  if (/(^|[^\\])"/.test(inner.replace(/\\\\/g, ""))) return null;
  return inner;
}
