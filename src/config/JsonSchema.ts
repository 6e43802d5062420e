// A JSON Schema (draft-07) object as the config's generated schema writes it, and the pattern
// pieces several string formats' schemas share. Each format (configFormats.ts, routeFormats.ts)
// carries its own schema beside its parser, so the two are written and reviewed together.

export type JsonSchema = { [keyword: string]: unknown };

export const PORT_PATTERN = "(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
export const PORT_NO_LEADING_ZERO_PATTERN =
  "(?:0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
export const HTTP_SCHEME_PATTERN = "[Hh][Tt][Tt][Pp][Ss]?://";
export const AUTHORITY_PATTERN = String.raw`[^/?#@\s\\]+`;
export const NON_BLANK_PATTERN = String.raw`^\S(?:[\s\S]*\S)?$`;

/** An http(s) URL without a fragment (or a query, unless `allowQuery`), as far as a regex can tell. */
export const httpUrlSchema = (allowQuery: boolean): JsonSchema => ({
  type: "string",
  format: "uri",
  pattern: allowQuery
    ? `^${HTTP_SCHEME_PATTERN}${AUTHORITY_PATTERN}(?:[/?][^#\\s\\\\]*)?$`
    : `^${HTTP_SCHEME_PATTERN}${AUTHORITY_PATTERN}(?:/[^?#\\s\\\\]*)?$`,
});
