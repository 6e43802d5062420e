// The CheckRequest the direct-Check load and bench/checkPath.ts send: shaped like the one Envoy's
// ext_authz filter sends for a wrk request (pseudo-headers, peers, request id), on a matching route,
// carrying the bench credential: the bearer token, or (token null) only the extra headers, e.g. a Cookie.

export function buildCheckRequest(
  token: string | null,
  host: string,
  path: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): object {
  return {
    attributes: {
      source: { address: { socket_address: { address: "127.0.0.1", port_value: 40000 } } },
      destination: { address: { socket_address: { address: "127.0.0.1", port_value: 10000 } } },
      request: {
        http: {
          id: "4f1c2b8e-bench-0000-0000-000000000001",
          method: "GET",
          headers: {
            ":authority": host,
            ":method": "GET",
            ":path": path,
            ":scheme": "http",
            ...(token === null ? {} : { authorization: `Bearer ${token}` }),
            ...extraHeaders,
            "user-agent": "portcullis-bench",
            "x-forwarded-proto": "http",
            "x-request-id": "4f1c2b8e-bench-0000-0000-000000000001",
          },
          path,
          host,
          scheme: "http",
          protocol: "HTTP/1.1",
        },
      },
    },
  };
}
