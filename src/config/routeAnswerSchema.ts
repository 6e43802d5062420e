// What a route adds to the answer the client gets: response headers on an allowed request, made from
// the verified identity (`responseHeaders`), and its own denial bodies (`denial`: an HTML page for
// browsers, JSON for APIs). Bounded sizes; check-config refuses headers that would steer the client.
import { claimPath, headerName, type StringFormat } from "./configFormats.ts";
import type { MapNode, ObjectNode } from "./configSchema.ts";

export const MAX_DENIAL_HTML_BYTES = 65536;
export const MAX_DENIAL_JSON_BYTES = 8192;
const SOURCES = ["sub", "email", "client_id"];

/** `sub`, `email`, `client_id` or `claim:<path>`: identity only, never a credential or request data. */
export const responseHeaderSource: StringFormat<string> = {
  label: "`sub` \\| `email` \\| `client_id` \\| `claim:<path>`",
  jsonSchema: { type: "string", anyOf: [{ enum: SOURCES }, { pattern: String.raw`^claim:\S(?:[\s\S]*\S)?$` }] },
  parse(value) {
    if (SOURCES.includes(value)) return { ok: true, value };
    if (value.startsWith("claim:") && claimPath.parse(value.slice("claim:".length)).ok) return { ok: true, value };
    return { ok: false, message: `must be one of ${SOURCES.join(", ")}, or claim:<path>` };
  },
};

export const routeResponseHeadersNode = {
  kind: "map",
  typeOptional: true,
  keyLabel: "<header>",
  keyFormat: headerName,
  values: { kind: "string", format: responseHeaderSource, description: "Where the value comes from." },
  default: {},
  description:
    "Headers on the response to the client when this route lets an authenticated request through: header name → `sub`, `email`, `client_id` or `claim:<path>` (an array claim is joined with `,`), e.g. `{ x-auth-user: email }` for a UI that shows who is signed in. Values are sanitised and cut to `identity.maxHeaderBytes`; a missing claim sends no header. Not `set-cookie`, hop-by-hop or framing headers (check-config).",
} as const satisfies MapNode;

export const routeDenialNode = {
  kind: "object",
  typeOptional: true,
  description:
    'This route\'s own bodies for its 401 and 403 answers (status, `WWW-Authenticate` and login redirects unchanged). Example: `{ html: \'<h1>No entry</h1><p>Ask IT, quoting {{requestId}}.</p>\', json: \'{"error":"forbidden","support":"it@example.com"}\' }`.',
  fields: {
    html: {
      kind: "string",
      nullable: true,
      default: null,
      description: `HTML page for a browser navigation (\`content-type: text/html; charset=utf-8\`), at most ${MAX_DENIAL_HTML_BYTES} bytes. \`{{code}}\`, \`{{status}}\`, \`{{route}}\` and \`{{requestId}}\` are replaced, HTML-escaped; nothing else of the request is shown. null: the built-in page.`,
    },
    htmlFile: {
      kind: "string",
      pattern: /^\/[^\0]*$/,
      nullable: true,
      default: null,
      description: `The page of \`html\` read from this absolute path instead (UTF-8, same limits and placeholders), at start and on each reload; check-config reads it too. Not with \`html\`. Example: \`/etc/portcullis/pages/403.html\`.`,
    },
    json: {
      kind: "string",
      nullable: true,
      default: null,
      description: `JSON body for API clients (\`content-type: application/json\`), at most ${MAX_DENIAL_JSON_BYTES} bytes; must parse as JSON. null: the built-in \`{"error", "error_description"}\`.`,
    },
  },
} as const satisfies ObjectNode;
