// Named string formats used by the config schema: each validates one kind of value (listen address,
// URL, header name, ...), converts it to the shape the parsed config holds, and carries the JSON
// Schema editors check it with and the label the generated reference shows as its type: one
// definition for the parser, the JSON Schema and the docs.

import {
  httpUrlSchema,
  NON_BLANK_PATTERN,
  PORT_NO_LEADING_ZERO_PATTERN,
  PORT_PATTERN,
  type JsonSchema,
} from "./JsonSchema.ts";
import { ESCAPE_PATTERN, NOT_DOT_SEGMENT_PATTERN, pathCharactersProblem } from "./routeFormats.ts";

export type FormatResult<T = string> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** One kind of string value; `T` is what the parsed config holds for it. */
export interface StringFormat<T = unknown> {
  /** The type as the generated reference shows it. */
  readonly label: string;
  /** The JSON Schema of the value (without the `${NAME}` alternative): follows `parse` as closely as a regex can. */
  readonly jsonSchema: JsonSchema;
  /** What check-config checks beyond `jsonSchema`, appended to the JSON Schema's description. */
  readonly schemaNote?: string;
  parse(value: string): FormatResult<T>;
}

/** A listener address as the parsed config holds it; the host is kept as written (v6 without brackets). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const ok = <T>(value: T): FormatResult<T> => ({ ok: true, value });
const fail = (message: string): { readonly ok: false; readonly message: string } => ({ ok: false, message });

/** `host:port` or `[v6]:port` → { host, port }; the host is kept as written (v6 without brackets). */
export const listenAddress: StringFormat<ListenAddress> = {
  label: '`"host:port"` string',
  jsonSchema: { type: "string", pattern: `^(?:\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):${PORT_PATTERN}$` },
  parse(value) {
    const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(value) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
    if (!m) return fail('must be "host:port", e.g. "0.0.0.0:9191"');
    const port = Number(m[2]);
    if (port > 65535) return fail("port must be 0..65535");
    return ok({ host: m[1] as string, port });
  },
};

function parseHttpUrl(value: string, allowQuery: boolean): FormatResult {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail("must be an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return fail("must be an https:// URL");
  if (url.hash !== "" || value.includes("#")) return fail("must not have a #fragment");
  if (!allowQuery && url.search !== "") return fail("must not have a ?query");
  if (url.username !== "" || url.password !== "") return fail("must not carry credentials");
  // The string is kept exactly as written: token `iss` values are compared byte for byte.
  return ok(value);
}

/** An OpenID issuer: absolute http(s) URL, no query or fragment (http is policed by a cross-field rule). */
export const issuerUrl: StringFormat<string> = {
  label: "https URL",
  jsonSchema: httpUrlSchema(false),
  schemaNote: "check-config also parses it as a URL and refuses `http://` without `allowInsecureHttp`.",
  parse: (value) => parseHttpUrl(value, false),
};

export const httpUrl: StringFormat<string> = {
  label: "https URL",
  jsonSchema: httpUrlSchema(true),
  schemaNote: "check-config also parses it as a URL.",
  parse: (value) => parseHttpUrl(value, true),
};

export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "trailers",
  "transfer-encoding",
  "upgrade",
]);
// Headers that carry the caller's credential or routing: Portcullis must never set them upstream.
export const RESERVED_HEADERS: ReadonlySet<string> = new Set(["authorization", "host", "cookie"]);

const LOWER_CASE_HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$/;

/** A header Portcullis sets upstream: lower-case token, not hop-by-hop, pseudo, or credential-bearing. */
export const headerName: StringFormat<string> = {
  label: "header name",
  jsonSchema: {
    type: "string",
    pattern: LOWER_CASE_HEADER_NAME.source,
    not: { enum: [...HOP_BY_HOP_HEADERS, ...RESERVED_HEADERS] },
  },
  parse(value) {
    if (value.startsWith(":")) return fail("must not be a pseudo-header");
    if (value !== value.toLowerCase()) return fail("must be lower-case");
    if (!LOWER_CASE_HEADER_NAME.test(value)) return fail("must be an HTTP header name (token characters, 1..100)");
    if (HOP_BY_HOP_HEADERS.has(value)) return fail("must not be a hop-by-hop header");
    if (RESERVED_HEADERS.has(value)) return fail("must not be authorization, host or cookie");
    return ok(value);
  },
};

/** A request header Portcullis removes before the upstream (policy.removeRequestHeaders); lower-case token. */
export const removableHeaderName: StringFormat<string> = {
  label: "header name",
  jsonSchema: {
    type: "string",
    pattern: LOWER_CASE_HEADER_NAME.source,
    not: { enum: ["host", "authorization", "cookie"] },
  },
  parse(value) {
    if (value.startsWith(":")) return fail("must not be a pseudo-header (Envoy never removes those)");
    if (value !== value.toLowerCase()) return fail(`must be lower-case (write ${JSON.stringify(value.toLowerCase())})`);
    if (!LOWER_CASE_HEADER_NAME.test(value)) return fail("must be an HTTP header name (token characters, 1..100)");
    if (value === "host") return fail("must not be host: the upstream needs it, and Envoy never removes it");
    if (value === "authorization")
      return fail(
        "must not be authorization: it is removed on authenticated requests unless identity.forwardAuthorization is true",
      );
    if (value === "cookie")
      return fail("must not be cookie: Portcullis removes its own cookies and leaves the upstream's");
    return ok(value);
  },
};

const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const HOST_PATTERN = new RegExp(`^(\\*\\.)?${LABEL}(\\.${LABEL})*$`);
// The schema sees the value before it is lower-cased.
const ANY_CASE_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/** An exact host name or `*.suffix`, lower-cased (host names are case-insensitive). */
export const hostPattern: StringFormat<string> = {
  label: "host name or `*.suffix`",
  jsonSchema: {
    type: "string",
    maxLength: 253,
    pattern: `^(?:\\*\\.)?${ANY_CASE_LABEL}(?:\\.${ANY_CASE_LABEL})*$`,
  },
  parse(value) {
    const host = value.toLowerCase();
    if (host.length > 253 || !HOST_PATTERN.test(host)) return fail('must be a host name or "*.suffix" without port');
    return ok(host);
  },
};

/** A route path prefix as matched against the normalised request path. */
export const routePath: StringFormat<string> = {
  label: "path starting with `/`",
  jsonSchema: {
    type: "string",
    pattern: `^(?:/|(?:/${NOT_DOT_SEGMENT_PATTERN}(?:[^/?#\\s%\\u0080-\\uFFFF]|${ESCAPE_PATTERN})+)+)$`,
  },
  parse(value) {
    if (!value.startsWith("/")) return fail('must start with "/"');
    if (/[?#\s]/.test(value)) return fail("must be a plain path (no query, fragment or spaces)");
    if (value.includes("//") || /\/\.\.?(\/|$)/.test(value))
      return fail('must be normalised (no "//", "/./" or "/../")');
    if (value.length > 1 && value.endsWith("/")) {
      return fail('must not end with "/" (matching is on segment boundaries: "/api" matches "/api/x")');
    }
    const characters = pathCharactersProblem(value);
    return characters === null ? ok(value) : fail(characters);
  },
};

/** A free-form value (an audience) that must not be blank or padded with spaces. */
export const nonBlank: StringFormat<string> = {
  label: "string",
  jsonSchema: { type: "string", pattern: NON_BLANK_PATTERN },
  parse(value) {
    if (value.trim() === "" || value !== value.trim()) return fail("must be non-empty without surrounding spaces");
    return ok(value);
  },
};

/** A dotted claim path such as `realm_access.roles` or a URL-like claim name. */
export const claimPath: StringFormat<string> = {
  label: "claim path",
  jsonSchema: { type: "string", pattern: NON_BLANK_PATTERN },
  parse(value) {
    if (value.trim() === "" || value !== value.trim())
      return fail("must be a non-empty claim path without surrounding spaces");
    return ok(value);
  },
};

const CONTEXT_SOURCES = ["sub", "email", "scopes", "roles", "exp", "client_id"];

/** A source of one `x-user-context` field. */
export const contextSource: StringFormat<string> = {
  label: "`sub` \\| `email` \\| `scopes` \\| `roles` \\| `exp` \\| `client_id` \\| `claim:<path>`",
  jsonSchema: {
    type: "string",
    anyOf: [{ enum: CONTEXT_SOURCES }, { pattern: String.raw`^claim:\S(?:[\s\S]*\S)?$` }],
  },
  parse(value) {
    if (CONTEXT_SOURCES.includes(value)) return ok(value);
    if (value.startsWith("claim:"))
      return claimPath.parse(value.slice("claim:".length)).ok ? ok(value) : fail("claim: needs a claim path");
    return fail(`must be one of ${CONTEXT_SOURCES.join(", ")}, or claim:<path>`);
  },
};

/** An exact web origin, `https://app.example.com[:port]`: no path, query or credentials. */
const ORIGIN_HOST = String.raw`(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])`;

export const webOrigin: StringFormat<string> = {
  label: "origin",
  jsonSchema: {
    type: "string",
    format: "uri",
    pattern: `^(?:https://${ORIGIN_HOST}(?::(?!443$)${PORT_NO_LEADING_ZERO_PATTERN})?|http://${ORIGIN_HOST}(?::(?!80$)${PORT_NO_LEADING_ZERO_PATTERN})?)$`,
  },
  schemaNote: "check-config also requires it to equal the URL's normalised origin (e.g. IPv6 and IPv4 short forms).",
  parse(value) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail('must be an origin such as "https://app.example.com"');
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") return fail("must be an https:// origin");
    if (url.origin !== value)
      return fail(`must be an origin only (scheme, host, port), e.g. ${JSON.stringify(url.origin)}`);
    return ok(value);
  },
};

/** A redirect target: a path on the login origin ("/", "/signed-out") or an absolute http(s) URL. */
export const redirectTarget: StringFormat<string> = {
  label: "path or URL",
  jsonSchema: { type: "string", anyOf: [{ pattern: String.raw`^/(?!/)[^\\]*$` }, httpUrlSchema(true)] },
  schemaNote: "check-config also parses a URL as a URL.",
  parse(value) {
    if (value.startsWith("/")) {
      if (value.startsWith("//") || value.includes("\\"))
        return fail('a path must start with a single "/" and hold no "\\"');
      return ok(value);
    }
    return parseHttpUrl(value, true);
  },
};

/** A cookie name: an RFC 6265 token, short enough to leave room for chunk suffixes. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

export const cookieName: StringFormat<string> = {
  label: "cookie name",
  jsonSchema: { type: "string", pattern: COOKIE_NAME.source },
  parse(value) {
    if (!COOKIE_NAME.test(value))
      return fail("must be 1..64 cookie-name characters (letters, digits, !#$%&'*+-.^_`|~)");
    return ok(value);
  },
};

/** A cookie Domain attribute: a host name without a scheme, port or leading dot. */
export const cookieDomain: StringFormat<string> = {
  label: "domain",
  jsonSchema: {
    type: "string",
    maxLength: 253,
    pattern: String.raw`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`,
  },
  parse(value) {
    const v = value.toLowerCase();
    if (!/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(v)) {
      return fail('must be a host name such as "example.com" (no scheme, port or leading dot)');
    }
    return ok(v);
  },
};

/** A Redis server URL, `redis://host:port[/db]` or `rediss://` (TLS); credentials go in their own keys. */
export const redisUrl: StringFormat<string> = {
  label: "redis:// URL",
  jsonSchema: { type: "string", pattern: "^rediss?://[^/@?#]+(/(0|[1-9][0-9]{0,3}))?$" },
  schemaNote: "check-config also parses it as a URL.",
  parse(value) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail('must be a URL such as "redis://127.0.0.1:6379" or "rediss://redis.internal:6380/0"');
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:")
      return fail("must be a redis:// or rediss:// (TLS) URL");
    if (url.hostname === "") return fail("must name a host");
    if (url.username !== "" || url.password !== "")
      return fail("must not carry credentials: set `redis.username` and `redis.password` (e.g. ${REDIS_PASSWORD})");
    if (url.search !== "" || url.hash !== "") return fail("must not have a ?query or #fragment");
    const db = url.pathname.replace(/^\//, "");
    if (db !== "" && !/^(0|[1-9]\d{0,3})$/.test(db))
      return fail("the path, when given, must be a database number such as /0");
    return ok(value);
  },
};

/** A sealing secret: long enough to carry 256 bits of entropy when random. */
export const sealingSecret: StringFormat<string> = {
  label: "secret (≥ 32 characters)",
  jsonSchema: { type: "string", minLength: 32 },
  parse(value) {
    if (value.length < 32) return fail("must be at least 32 characters; generate one with `openssl rand -base64 32`");
    return ok(value);
  },
};
