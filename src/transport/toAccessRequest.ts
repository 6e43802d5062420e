// Envoy CheckRequest (as decoded by proto-loader) → AccessRequest: the reference the wire codec
// (decodeCheckRequest) is held to by a differential test. Headers come either as the `headers` map
// or, with `encode_raw_headers`, as `header_map`; both are accepted. The client certificate is
// attributes.source.certificate (with include_peer_certificate); the downstream peer's address is
// attributes.source.address.socket_address.address; the TLS server name is attributes.tls_session.sni.
import type { AccessRequest } from "../core/AccessRequest.ts";
import { assembleAccessRequest } from "./assembleAccessRequest.ts";

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
  attributes?: {
    source?: { certificate?: string; address?: { socket_address?: { address?: string } } };
    request?: { http?: HttpRequestWire };
    tls_session?: { sni?: string };
  };
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
  return assembleAccessRequest(
    {
      id: http.id ?? "",
      method: http.method ?? "",
      path: http.path ?? "",
      host: http.host ?? "",
      scheme: http.scheme ?? "",
    },
    headers,
    wire.attributes?.source?.certificate ?? "",
    wire.attributes?.source?.address?.socket_address?.address ?? "",
    wire.attributes?.tls_session?.sni ?? "",
  );
}
