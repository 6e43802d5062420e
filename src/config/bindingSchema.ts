// The config keys of sender-constrained tokens: `require.boundTokens` of a route and `boundTokens` of
// a provider (which kind of proof a token must come with), and a route's `mtls` block (where the
// client certificate comes from, and the machines admitted by their certificate alone).
// routeSchema.ts and providerSchema.ts place them; core/compileRouteBinding.ts compiles them.

import type { ObjectNode, StringNode } from "./configSchema.ts";
import { nonBlank, type FormatResult, type StringFormat } from "./configFormats.ts";

export const BOUND_TOKEN_KINDS = ["mtls", "dpop", "any", "none"] as const;

const BOUND_TOKENS_MEANING =
  "`mtls`: only tokens bound to the client certificate (RFC 8705, `cnf.x5t#S256`); `dpop`: only DPoP-bound tokens (RFC 9449, `cnf.jkt`); `any`: either; `none`: plain bearer tokens too. A plain bearer token where a bound one is demanded gets 401 `bound_token_required`. A token that carries a `cnf` is checked against its proof wherever it is presented, whatever this says.";

/** `routes[].require.boundTokens`. */
export const routeBoundTokensNode = {
  kind: "string",
  enum: BOUND_TOKEN_KINDS,
  nullable: true,
  typeOptional: true,
  default: null,
  description: `Sender-constrained tokens on this route. ${BOUND_TOKENS_MEANING} null: the verifying provider's \`boundTokens\`. Browser sessions are not tokens the client holds and are not affected.`,
} as const satisfies StringNode;

/** `providers.<name>.boundTokens`. */
export const providerBoundTokensNode = {
  kind: "string",
  enum: BOUND_TOKEN_KINDS,
  typeOptional: true,
  default: "none",
  description: `Sender-constrained tokens of this provider on routes whose \`require.boundTokens\` is null. ${BOUND_TOKENS_MEANING}`,
} as const satisfies StringNode;

/** A string format checked by one regex, its problem worded with the fix. */
function regexFormat(label: string, regex: RegExp, problem: string): StringFormat<string> {
  return {
    label,
    jsonSchema: { type: "string", pattern: regex.source },
    parse: (value): FormatResult => (regex.test(value) ? { ok: true, value } : { ok: false, message: problem }),
  };
}

export const SPIFFE_ID = regexFormat(
  "SPIFFE ID",
  /^spiffe:\/\/[a-z0-9._-]{1,255}(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/,
  "must be a SPIFFE ID: spiffe://<trust domain, lower-case>/<path>, without query, fragment or trailing slash",
);
export const DNS_NAME = regexFormat(
  "DNS name",
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/,
  "must be a DNS name such as billing.internal.example.com (no wildcard, no trailing dot)",
);
export const THUMBPRINT = regexFormat(
  "base64url SHA-256",
  /^[A-Za-z0-9_-]{43}$/,
  "must be 43 base64url characters: the SHA-256 of the certificate's DER (openssl x509 -outform der | openssl dgst -sha256 -binary | basenc --base64url)",
);

export const CLIENT_ID = regexFormat(
  "client id",
  /^[\x21-\x7e]{1,200}$/,
  "must be 1..200 visible ASCII characters without spaces",
);

const selector = (description: string, format: StringFormat<string> = nonBlank) =>
  ({
    kind: "string",
    format,
    nullable: true,
    typeOptional: true,
    default: null,
    description,
  }) as const;

/** One `routes[].mtls.clients[]` entry: exactly one selector, and the client id it stands for. */
const certificateClientNode = {
  kind: "object",
  description:
    "A machine admitted by its client certificate alone; exactly one of `spiffeId`, `uri`, `dnsName`, `subject`, `thumbprint`.",
  fields: {
    clientId: {
      kind: "string",
      format: CLIENT_ID,
      required: true,
      description: "The client id it is admitted as: the `x-client-id` header, `require.clients`, the audit log.",
    },
    spiffeId: selector(
      "A URI subject alternative name that is this SPIFFE ID exactly (`spiffe://<trust domain>/<path>`).",
      SPIFFE_ID,
    ),
    uri: selector("A URI subject alternative name, compared exactly."),
    dnsName: selector("A DNS subject alternative name, compared without letter case (no wildcards).", DNS_NAME),
    subject: selector(
      "The certificate's whole subject in RFC 4514 form as `openssl x509 -noout -subject -nameopt RFC2253` prints it (and Envoy forwards it), most specific first, compared exactly (`CN=billing,O=Example,C=DE`).",
    ),
    thumbprint: selector(
      "The SHA-256 thumbprint of the certificate (base64url of the DER, as in `cnf.x5t#S256`).",
      THUMBPRINT,
    ),
  },
} as const satisfies ObjectNode;

/** `routes[].mtls`. */
export const routeMtlsNode = {
  kind: "object",
  typeOptional: true,
  description:
    "The client certificate (RFC 8705): where it comes from and which machines it admits without a token. Envoy must pass it on (`include_peer_certificate: true`, printed by `check-config --envoy` once a config uses mTLS) after verifying it against your CA (the listener's `validation_context`): Portcullis trusts the certificate Envoy hands over and checks no chain.",
  fields: {
    trustForwardedClientCert: {
      kind: "boolean",
      default: false,
      description:
        "Read the client certificate from `x-forwarded-client-cert` (set by a front proxy or mesh sidecar that terminated the client's TLS) instead of Envoy's own peer certificate. Only where every request comes through that proxy: a client could otherwise write the header itself. false: the header is ignored and removed before the upstream.",
    },
    forwardedClientCertElements: {
      kind: "string",
      enum: ["one", "last"],
      default: "one",
      description:
        "With `trustForwardedClientCert`: `one`: a header with more than one element (more than one hop appended to it) is refused as ambiguous; `last`: the last element counts, the one the nearest trusted proxy appended.",
    },
    clients: {
      kind: "list",
      items: certificateClientNode,
      default: [],
      description:
        "Machines this route admits by their certificate alone, without a token (as a service mesh does), when the request brings no bearer token; the first entry that matches names the client. Needs `auth: required` or `optional`; `require` applies to them as to tokens (their only claim is `client_id`).",
    },
  },
} as const satisfies ObjectNode;
