// A forward-auth proxy (nginx, Traefik, Caddy, Envoy's http_service) cannot be told to drop a query
// parameter, so an allow that names one (a route's query token source) is answered as a refusal:
// the token never reaches the upstream through a front door that would pass it on.
import { describe, expect, it } from "vitest";
import type { Allow } from "../../src/core/Decision.ts";
import { toEnvoyAuthResponse, toForwardAuthResponse } from "../../src/transport/toForwardAuthResponse.ts";

const allow: Allow = {
  kind: "allow",
  route: "ws",
  reason: "authenticated",
  setHeaders: [["x-user-sub", "alice"]],
  removeHeaders: [],
  removeQueryParameters: ["access_token"],
};

describe("forward-auth answers for a query token source", () => {
  it("refuses with 503 internal_error instead of letting the request through with its token", () => {
    const answer = toForwardAuthResponse(allow, null);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ error: "internal_error" });
    expect(answer.headers.some(([name]) => name === "x-user-sub")).toBe(false);
  });

  it("refuses the same way for Envoy's HTTP ext_authz", () => {
    expect(toEnvoyAuthResponse(allow).status).toBe(503);
  });

  it("lets an allow without query parameters to remove through as before", () => {
    const { removeQueryParameters: _none, ...plain } = allow;
    expect(toForwardAuthResponse(plain, null).status).toBe(200);
  });
});
