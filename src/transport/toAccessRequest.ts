// Envoy CheckRequest (as decoded by proto-loader) → AccessRequest. Headers come either as the
// `headers` map or, with `encode_raw_headers`, as `header_map`; both are accepted.
import type { AccessRequest } from "../core/AccessRequest.ts";
import { canonicalAuthority } from "../core/canonicalAuthority.ts";

interface HeaderValueWire {
  key?: string;
  value?: string;
  raw_value?: Buffer;
}

export interface HttpRequestWire {
  id?: string;
  method?: string;
  headers?: Record<string, string>;
  header_map?: { headers?: HeaderValueWire[] };
  path?: string;
  host?: string;
  scheme?: string;
}

export interface CheckRequestWire {
  attributes?: { request?: { http?: HttpRequestWire } };
}

export function toAccessRequest(wire: CheckRequestWire): AccessRequest {
  const http = wire.attributes?.request?.http ?? {};
  const headers = new Map<string, string>();
  const raw = http.header_map?.headers;
  if (raw && raw.length > 0) {
    for (const h of raw) {
      if (!h.key) continue;
      const name = h.key.toLowerCase();
      const value = h.raw_value && h.raw_value.length > 0 ? h.raw_value.toString("latin1") : (h.value ?? "");
      const prior = headers.get(name);
      headers.set(name, prior === undefined ? value : `${prior},${value}`);
    }
  } else if (http.headers) {
    for (const [k, v] of Object.entries(http.headers)) headers.set(k.toLowerCase(), v);
  }
  const authority = http.host || headers.get(":authority") || "";
  const host = canonicalAuthority(authority);
  return {
    // Envoy's x-request-id is what its access log and the upstream see, so logs can be joined on it;
    // http.id is Envoy's internal stream id, used only when the header is absent.
    requestId: headers.get("x-request-id") || http.id || "",
    method: (http.method || headers.get(":method") || "").toUpperCase(),
    scheme: http.scheme || headers.get(":scheme") || "",
    // An invalid authority is kept as received, flagged: the gate refuses it (host_invalid) and says why.
    host: host ?? authority,
    ...(host === null ? { hostInvalid: true } : {}),
    path: http.path || headers.get(":path") || "",
    headers,
  };
}
