// The CheckRequest the direct-Check load sends: shaped like the one Envoy's ext_authz filter sends
// for a wrk request (pseudo-headers, peers, request id), carrying the bench token on a matching route.

export function buildCheckRequest(token: string, host: string, path: string): object {
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
            authorization: `Bearer ${token}`,
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
