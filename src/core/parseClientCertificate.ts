// Reads the client certificate Envoy hands over with a Check (`attributes.source.certificate`:
// URL-encoded PEM, with `include_peer_certificate: true`) or a trusted proxy forwards in
// x-forwarded-client-cert's `Cert`, once per distinct certificate: a small bounded cache keeps the
// last ones, since one client presents the same certificate on every request of a connection.
// Anything that is not exactly one well-formed certificate reads as no certificate (fail closed).
import { createHash, X509Certificate } from "node:crypto";
import { MAX_CERTIFICATE_NAMES, MAX_CLIENT_CERTIFICATE_CHARS, type ClientCertificate } from "./ClientCertificate.ts";

const CACHE_ENTRIES = 256;
const cache = new Map<string, ClientCertificate | null>();
const BEGIN = "-----BEGIN CERTIFICATE-----";

/** The certificate of a URL-encoded PEM, or null when it is not exactly one readable certificate. */
export function parseClientCertificate(urlEncodedPem: string): ClientCertificate | null {
  if (urlEncodedPem.length === 0 || urlEncodedPem.length > MAX_CLIENT_CERTIFICATE_CHARS) return null;
  const known = cache.get(urlEncodedPem);
  if (known !== undefined) return known;
  const parsed = readCertificate(urlEncodedPem);
  // Oldest out first: a bound on memory, not an LRU; a busy client is read again at worst.
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(urlEncodedPem, parsed);
  return parsed;
}

function readCertificate(urlEncodedPem: string): ClientCertificate | null {
  let pem: string;
  try {
    pem = decodeURIComponent(urlEncodedPem);
  } catch {
    return null;
  }
  // One certificate, nothing around it: X509Certificate would read the first of several and ignore the rest.
  const start = pem.indexOf(BEGIN);
  if (start === -1 || pem.indexOf(BEGIN, start + 1) !== -1 || pem.slice(0, start).trim() !== "") return null;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch {
    return null;
  }
  return certificateOf(x509);
}

/** The parts of a parsed certificate a decision compares; null when its names cannot be read. */
export function certificateOf(x509: X509Certificate): ClientCertificate | null {
  const names = subjectAltNames(x509.subjectAltName);
  if (names === null) return null;
  return Object.freeze({
    thumbprint: createHash("sha256").update(x509.raw).digest("base64url"),
    subject: x509.subject === "" ? null : rfc2253Subject(x509.subject),
    uris: Object.freeze(names.uris),
    dnsNames: Object.freeze(names.dnsNames.map((name) => name.toLowerCase())),
  });
}

/**
 * node:crypto's subject (one RDN a line, least specific first, the attributes of one RDN joined by
 * " + ", escaped per RFC 2253 but UTF-8 left as is) in OpenSSL's RFC 2253 form, the one Envoy writes
 * in x-forwarded-client-cert and `openssl x509 -nameopt RFC2253` prints: most specific first, an
 * RDN's attributes reversed too and joined by "+", every byte above 0x7f written \XX. One certificate
 * then has one subject however it reaches Portcullis. (A value's own "+" is escaped, so " + " only
 * ever separates attributes.)
 */
function rfc2253Subject(subject: string): string {
  const rdns = subject.split("\n").reverse();
  return rdns.map((rdn) => escapeHighBytes(rdn.split(" + ").reverse().join("+"))).join(",");
}

function escapeHighBytes(text: string): string {
  if (!/[^\x00-\x7f]/.test(text)) return text;
  let out = "";
  for (const byte of Buffer.from(text, "utf8"))
    out += byte > 0x7f ? `\\${byte.toString(16).toUpperCase()}` : String.fromCharCode(byte);
  return out;
}

/**
 * node:crypto's subjectAltName string: `TYPE:value` entries joined by ", ", a value that could be
 * misread (a comma, a quote) written as a JSON string. Other kinds (email, IP Address) are skipped;
 * a string that does not read this way is refused whole.
 */
function subjectAltNames(text: string | undefined): { uris: string[]; dnsNames: string[] } | null {
  const uris: string[] = [];
  const dnsNames: string[] = [];
  if (text === undefined || text === "") return { uris, dnsNames };
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(":", i);
    if (colon === -1) return null;
    const kind = text.slice(i, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = closingQuote(text, colon + 2);
      if (end === -1) return null;
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        return null;
      }
      end += 1;
    } else {
      end = text.indexOf(", ", colon + 1);
      if (end === -1) end = text.length;
      value = text.slice(colon + 1, end);
    }
    if (kind === "URI") uris.push(value);
    else if (kind === "DNS") dnsNames.push(value);
    if (uris.length > MAX_CERTIFICATE_NAMES || dnsNames.length > MAX_CERTIFICATE_NAMES) return null;
    if (end === text.length) break;
    if (!text.startsWith(", ", end)) return null;
    i = end + 2;
  }
  return { uris, dnsNames };
}

/** The index of the quote that ends a JSON string whose content starts at `from`, or -1. */
function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}
