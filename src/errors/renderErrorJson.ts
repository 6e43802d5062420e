// The small JSON body the auth listener answers a registry code with: `error` is the code's OAuth
// error where it has one (RFC 6749 section 5.2, as back-channel logout expects), else the code itself.
// Check denials name the code instead and carry the OAuth error in WWW-Authenticate (core/deny.ts).
import { ERROR_CODES, type ErrorCode } from "./ErrorCode.ts";

export function renderErrorJson(code: ErrorCode): { readonly status: number; readonly body: string } {
  const { status, oauthError, description } = ERROR_CODES[code];
  return { status, body: JSON.stringify({ error: oauthError ?? code, error_description: description }) };
}
