// The ext_authz allowed_headers computed from a config: exactly the headers Portcullis reads for it
// (browser login adds the Cookie header and the navigation headers, tracing the trace context,
// policy.removeRequestHeaders its names), nothing else; and those lists match what the code that
// reads them actually asks for.
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { CompositePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { B3Propagator } from "@opentelemetry/propagator-b3";
import { describe, expect, it } from "vitest";
import {
  allowedHeaderPatterns,
  BROWSER_NAVIGATION_HEADERS,
  envoyAllowedHeaders,
  TRACE_CONTEXT_HEADERS,
} from "../../src/app/envoyAllowedHeaders.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { DEFAULT_REMOVED_REQUEST_HEADERS } from "../../src/config/removedRequestHeaders.ts";
import { isBrowserNavigation } from "../../src/core/isBrowserNavigation.ts";

const PROVIDER = { issuer: "https://idp.example.com", audiences: ["api"] };
const LOGIN_CLIENT = {
  clientId: "web",
  clientSecret: "secret-secret",
  redirectUri: "https://app.example.com/oauth2/callback",
};
const ROUTES = [{ name: "app", match: { path: "/" }, auth: "required" }];

function config(extra: Record<string, unknown> = {}, provider: Record<string, unknown> = {}): PortcullisConfig {
  const parsed = parseConfig({ providers: { corp: { ...PROVIDER, ...provider } }, routes: ROUTES, ...extra });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const names = (c: PortcullisConfig) => envoyAllowedHeaders(c).map((h) => h.name);
const LOGIN = { session: { keys: ["k".repeat(40)] } };

/** A header map that records every name read from it. */
function recordingHeaders(entries: Record<string, string>): { map: Map<string, string>; read: Set<string> } {
  const read = new Set<string>();
  class Recording extends Map<string, string> {
    override get(name: string) {
      read.add(name);
      return super.get(name);
    }
    override has(name: string) {
      read.add(name);
      return super.has(name);
    }
  }
  return { map: new Recording(Object.entries(entries)), read };
}

describe("envoyAllowedHeaders", () => {
  it("sends a bearer-only config the Authorization header, the request id and the removal names, nothing else", () => {
    expect(names(config())).toEqual(["authorization", "x-request-id", ...DEFAULT_REMOVED_REQUEST_HEADERS]);
  });

  it("adds the Cookie header and the page-navigation headers when browser login is on", () => {
    expect(names(config(LOGIN, LOGIN_CLIENT))).toEqual([
      "authorization",
      "x-request-id",
      "cookie",
      ...BROWSER_NAVIGATION_HEADERS,
      ...DEFAULT_REMOVED_REQUEST_HEADERS,
    ]);
  });

  it("leaves the Cookie header out when no provider has a login client (session keys alone)", () => {
    expect(names(config(LOGIN))).toEqual(names(config()));
  });

  it("adds the headers a route's match conditions read, lower-cased", () => {
    const parsed = parseConfig({
      providers: { corp: PROVIDER },
      routes: [
        { name: "v2", match: { path: "/api", headers: [{ name: "Accept-Version", equals: "2" }] }, auth: "required" },
        ...ROUTES,
      ],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(names(parsed.config)).toContain("accept-version");
  });

  it("adds the W3C and B3 trace context when tracing is on", () => {
    expect(names(config({ tracing: { enabled: true } }))).toEqual([
      "authorization",
      "x-request-id",
      ...DEFAULT_REMOVED_REQUEST_HEADERS,
      ...TRACE_CONTEXT_HEADERS,
    ]);
    expect(names(config({ tracing: { enabled: false } }))).not.toContain("traceparent");
  });

  it("follows policy.removeRequestHeaders: its own names, none when it is empty", () => {
    const custom = config({ policy: { removeRequestHeaders: ["x-forwarded-host", "x-original-host"] } });
    expect(names(custom)).toEqual(["authorization", "x-request-id", "x-forwarded-host", "x-original-host"]);
    expect(names(config({ policy: { removeRequestHeaders: [] } }))).toEqual(["authorization", "x-request-id"]);
  });

  it("never lists an identity header Portcullis owns: it removes or overwrites each on every allowed request", () => {
    const c = config(
      { ...LOGIN, tracing: { enabled: true }, identity: { claimHeaders: { "x-user-team": "team" } } },
      LOGIN_CLIENT,
    );
    const owned = [...Object.values(c.identity.headers), ...Object.keys(c.identity.claimHeaders ?? {})];
    expect(owned.length).toBeGreaterThan(4);
    for (const name of owned) expect(names(c)).not.toContain(name);
  });

  it("names each header once, as exact Envoy string matchers", () => {
    const c = config({ ...LOGIN, tracing: { enabled: true } }, LOGIN_CLIENT);
    const patterns = allowedHeaderPatterns(c);
    expect(new Set(patterns.map((p) => p.exact)).size).toBe(patterns.length);
    for (const p of patterns) expect(Object.keys(p)).toEqual(["exact"]);
  });
});

describe("the lists match the code that reads the headers", () => {
  it("BROWSER_NAVIGATION_HEADERS are every header isBrowserNavigation reads", () => {
    const read = new Set<string>();
    // A request for each branch: every header present with a value that lets the next one be read.
    const requests: Record<string, string>[] = [
      {},
      { accept: "text/html", "sec-fetch-mode": "navigate" },
      { "content-type": "text/plain", "x-requested-with": "fetch", "sec-fetch-mode": "navigate", accept: "text/html" },
    ];
    for (const headers of requests) {
      const recording = recordingHeaders(headers);
      isBrowserNavigation("GET", recording.map);
      for (const name of recording.read) read.add(name);
    }
    expect([...read].sort()).toEqual([...BROWSER_NAVIGATION_HEADERS].sort());
  });

  it("TRACE_CONTEXT_HEADERS are every header the tracing propagators extract from", () => {
    const propagator = new CompositePropagator({
      propagators: [new B3Propagator(), new W3CTraceContextPropagator()],
    });
    const read = new Set<string>();
    // Valid values where a propagator reads a header only after another one (tracestate after a
    // valid traceparent; B3's span id, flags and sampled after a trace id).
    const values: Record<string, string> = {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "x-b3-traceid": "0af7651916cd43dd8448eb211c80319c",
      "x-b3-spanid": "b7ad6b7169203331",
    };
    const getter = {
      get: (_carrier: unknown, key: string) => {
        read.add(key);
        return values[key];
      },
      keys: () => [],
    };
    propagator.extract(ROOT_CONTEXT, {}, getter);
    expect([...read].sort()).toEqual([...TRACE_CONTEXT_HEADERS].sort());
  });
});
