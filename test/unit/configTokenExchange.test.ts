// Config of token exchange (routes[].exchange): off by default, every default filled in, and each
// inconsistent setting refused with its key path and what to do about it.
import { describe, expect, it } from "vitest";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { NO_EXCHANGE } from "../harness/noExchange.ts";

function config(exchange: Record<string, unknown> | undefined, route: Record<string, unknown> = {}) {
  return {
    providers: {
      corp: {
        issuer: "https://idp.example.com",
        audiences: ["api"],
        clientId: "portcullis",
        clientSecret: "s3cret",
        redirectUri: "https://app.example.com/oauth2/callback",
      },
      bare: { issuer: "https://other.example.com", audiences: ["api"] },
    },
    session: { keys: ["k".repeat(32)] },
    routes: [
      {
        name: "orders",
        match: { path: "/orders" },
        auth: "required",
        providers: ["corp"],
        ...(exchange === undefined ? {} : { exchange }),
        ...route,
      },
    ],
  };
}

function problems(raw: unknown): string[] {
  const result = parseCheckedConfig(raw);
  return result.ok ? [] : result.problems.map(formatIssue);
}

describe("routes[].exchange", () => {
  it("is off by default, with the defaults of an Authorization: Bearer replacement", () => {
    const result = parseCheckedConfig(config(undefined));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.routes[0]?.exchange).toEqual(NO_EXCHANGE);
  });

  it("accepts an exchange for an audience with the provider's own client", () => {
    expect(problems(config({ enabled: true, audience: ["orders-api"] }))).toEqual([]);
  });

  it("needs an audience or a resource to exchange for", () => {
    expect(problems(config({ enabled: true }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.audience: is empty and so is resource: name the service/),
    ]);
  });

  it("refuses an unknown provider and one the route does not accept", () => {
    expect(problems(config({ enabled: true, audience: ["x"], provider: "nope" }))).toEqual([
      'routes[0].exchange.provider: unknown provider "nope"; name a key of providers',
    ]);
    expect(
      problems(config({ enabled: true, audience: ["x"], provider: "bare", clientId: "c", clientSecret: "s" })),
    ).toEqual(['routes[0].exchange.provider: "bare" is not one of the route\'s providers (corp)']);
  });

  it("needs client credentials: the provider's, or its own clientId with clientSecret", () => {
    expect(problems(config({ enabled: true, audience: ["x"] }, { providers: ["bare"] }))).toEqual([
      expect.stringMatching(
        /^routes\[0\]\.exchange\.clientId: is null and provider "bare" has no clientId and clientSecret/,
      ),
    ]);
    expect(problems(config({ enabled: true, audience: ["x"], clientId: "exchanger" }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.clientSecret: is required with exchange\.clientId/),
    ]);
    expect(problems(config({ enabled: true, audience: ["x"], clientSecret: "s" }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.clientId: is null but clientSecret is set/),
    ]);
  });

  it("never quotes the exchange client's secret in a message", () => {
    const found = problems(config({ enabled: true, audience: ["x"], clientId: "c", clientSecret: 42 }));
    expect(found).toEqual([expect.stringMatching(/^routes\[0\]\.exchange\.clientSecret: /)]);
    expect(found.join("\n")).not.toContain("42");
  });

  it("refuses keeping the original Authorization when the exchanged token replaces it", () => {
    expect(problems(config({ enabled: true, audience: ["x"], removeAuthorization: false }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.removeAuthorization: is false but header is authorization/),
    ]);
    expect(problems(config({ enabled: true, audience: ["x"], scheme: null }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.scheme: is null but header is authorization/),
    ]);
    expect(
      problems(config({ enabled: true, audience: ["x"], header: "x-downstream-token", removeAuthorization: false })),
    ).toEqual([]);
  });

  it("refuses an identity header, host, cookie and a header name that is not lower-case", () => {
    expect(problems(config({ enabled: true, audience: ["x"], header: "x-user-sub" }))).toEqual([
      'routes[0].exchange.header: "x-user-sub" is an identity header; choose another name',
    ]);
    expect(problems(config({ enabled: true, audience: ["x"], header: "cookie" }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.header: must not be host, cookie/),
    ]);
    expect(problems(config({ enabled: true, audience: ["x"], header: "X-Token" }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.header: must be lower-case \(write "x-token"\)/),
    ]);
  });

  it("refuses an exchange on a public route and a resource that is not a URL", () => {
    expect(problems(config({ enabled: true, audience: ["x"] }, { auth: "public" }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.enabled: is true on an auth: public route/),
    ]);
    expect(problems(config({ enabled: true, resource: ["orders"] }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.resource\[0\]: /),
    ]);
  });

  it("refuses an exchange on a route that admits machines by certificate alone", () => {
    const mtls = { clients: [{ spiffeId: "spiffe://example.org/billing", clientId: "billing" }] };
    expect(problems(config({ enabled: true, audience: ["x"] }, { mtls }))).toEqual([
      expect.stringMatching(/^routes\[0\]\.exchange\.enabled: is true on a route with mtls\.clients/),
    ]);
  });
});
