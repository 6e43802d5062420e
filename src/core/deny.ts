// Builds denial values from stable codes through the one DENIALS table: status, RFC 6750
// WWW-Authenticate and a small JSON body. Public text only; the detail stays in the log.
import { DENIALS, type DenialCode } from "./DenialCode.ts";
import type { Deny, HeaderList } from "./Decision.ts";

export const DEFAULT_REALM = "portcullis";

interface Rendered {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: string;
}

const rendered = new Map<string, Rendered>();

function render(code: DenialCode, realm: string): Rendered {
  const key = `${code}\u0000${realm}`;
  const hit = rendered.get(key);
  if (hit) return hit;
  const spec = DENIALS[code];
  const headers: Array<[string, string]> = [
    ["content-type", "application/json"],
    ["cache-control", "no-store"],
  ];
  if (spec.status === 401) {
    // RFC 6750 §3.1: a request with no credential gets the challenge without an error code.
    const challenge = spec.bearerError
      ? `Bearer realm="${realm}", error="${spec.bearerError}", error_description="${spec.description}"`
      : `Bearer realm="${realm}"`;
    headers.push(["www-authenticate", challenge]);
  }
  const body = JSON.stringify({ error: code, error_description: spec.description });
  const value: Rendered = { status: spec.status, headers, body };
  rendered.set(key, value);
  return value;
}

export function deny(
  code: DenialCode,
  options: { route: string | null; realm?: string; detail?: string; provider?: string },
): Deny {
  const r = render(code, options.realm ?? DEFAULT_REALM);
  return {
    kind: "deny",
    route: options.route,
    code,
    status: r.status,
    headers: r.headers,
    body: r.body,
    ...(options.detail !== undefined ? { detail: options.detail } : {}),
    ...(options.provider !== undefined ? { provider: options.provider } : {}),
  };
}

export function internalErrorDecision(route: string | null, detail: string): Deny {
  return deny("internal_error", { route, detail });
}
