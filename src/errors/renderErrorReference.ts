// docs/errors.md, rendered from the error registry: what each surface answers with and how, then
// one row per code with its status, OAuth error, surfaces, public description and when it happens.
// `node src/errors/writeErrorReference.ts` writes it; a unit test fails when the page drifts.
import { ERROR_CODES, type ErrorCode, type Surface } from "./ErrorCode.ts";

const SURFACES: { readonly [S in Surface]: { readonly name: string; readonly answer: string } } = {
  check: {
    name: "Check",
    answer:
      'the ext_authz Check\'s denial: JSON `{"error": <code>, "error_description": <description>}`, or for a ' +
      "browser navigation a small HTML page with the description; a 401 (and a 403 with an OAuth error) carries " +
      "`WWW-Authenticate: Bearer` with the OAuth error (RFC 6750, RFC 9470). The code is the `reason` label of " +
      "`portcullis_checks_total`",
  },
  callback: {
    name: "callback",
    answer:
      "`GET /oauth2/callback`: an HTML page titled Sign-in failed, with a Try again link where one helps. The code " +
      "is the `reason` label of `portcullis_logins_total`",
  },
  start: { name: "start", answer: "`GET /oauth2/start?rd=…`: an HTML page (Sign-in refused / unavailable)" },
  sign_out: {
    name: "sign-out",
    answer: "`POST /oauth2/sign_out`: an HTML page (Sign-out refused / unavailable)",
  },
  backchannel_logout: {
    name: "back-channel logout",
    answer:
      "`POST /oauth2/backchannel_logout` (OpenID Connect Back-Channel Logout 1.0): JSON " +
      '`{"error": <OAuth error>, "error_description": <description>}` to the IdP',
  },
  auth_listener: {
    name: "auth listener",
    answer:
      'any path of the auth listener: JSON `{"error": <code>, "error_description": <description>}`, or an ' +
      "HTML page for a fault",
  },
  admin_api: {
    name: "admin API",
    answer:
      "`/admin/*` on the admin listener (docs/sessions-admin.md): JSON " +
      '`{"error": <code>, "error_description": <description>, "detail": <what was wrong>}`',
  },
};

export function renderErrorReference(): string {
  const surfaces = (Object.keys(SURFACES) as Surface[]).map(
    (surface) => `| ${SURFACES[surface].name} | ${SURFACES[surface].answer} |`,
  );
  const codes = (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => {
    const spec = ERROR_CODES[code];
    const oauth = spec.oauthError === undefined ? "" : `\`${spec.oauthError}\``;
    const where = spec.surfaces.map((surface) => SURFACES[surface].name).join(", ");
    return `| \`${code}\` | ${spec.status} | ${oauth} | ${where} | ${cell(spec.description)} | ${cell(spec.when)} |`;
  });
  return `# Errors

<!-- Generated from src/errors/ErrorCode.ts by \`node src/errors/writeErrorReference.ts\`; do not edit by hand. -->

Every error Portcullis answers over HTTP has a stable code with one status, the OAuth \`error\` where
one applies, and a public description: what a client or browser reads. Library text never reaches a
client; the log line carries the detail. Codes raised by the login client are also the logged reason
when a session's refresh ends it (the request itself is then answered \`session_invalid\`, sent to log
in again, or \`idp_unavailable\`).

## Surfaces

| surface | answers with |
|---|---|
${surfaces.join("\n")}

## Codes

| code | status | OAuth error | surfaces | description | when |
|---|---|---|---|---|---|
${codes.join("\n")}
`;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}
