// The client address through trusted hops, the TLS server name and time windows through the real
// Envoy. Envoy's own xff_num_trusted_hops does not change the source.address ext_authz reports (so
// Portcullis reads X-Forwarded-For itself, with policy.trustedForwardedHops); Envoy sends the SNI
// with include_tls_session; a rule outside its window (days chosen to exclude today) does not match.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { startStack, type Stack } from "../harness/startStack.ts";

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
// Today and tomorrow (UTC) are left out, so a run across midnight still finds the window closed.
const today = new Date().getUTCDay();
const closedDays = DAYS.filter((_, i) => i !== today && i !== (today + 1) % 7);
const openDays = [DAYS[today], DAYS[(today + 1) % 7]];

/** Envoy's own trust of one hop, and the TLS session sent to ext_authz. */
function envoyTrustingOneHop(rendered: string): string {
  const out = rendered
    .replace("xff_num_trusted_hops: 0", "xff_num_trusted_hops: 1")
    .replace(
      /^(\s*)include_peer_certificate: false$/m,
      "$1include_peer_certificate: false\n$1include_tls_session: true",
    );
  if (!out.includes("xff_num_trusted_hops: 1") || !out.includes("include_tls_session: true"))
    throw new Error("the shipped Envoy template changed: cannot set xff_num_trusted_hops and include_tls_session");
  return out;
}

const ROUTES = [
  {
    name: "lab-remote",
    match: { host: "localhost", path: "/lab", sourceAddresses: ["203.0.113.0/24"] },
    auth: "public",
  },
  { name: "lab", match: { host: "localhost", path: "/lab" }, auth: "required" },
  {
    name: "guarded",
    match: { host: "localhost", path: "/guarded" },
    auth: "required",
    require: { request: { sourceAddresses: ["203.0.113.0/24"] } },
  },
  { name: "sni-internal", match: { host: "localhost", path: "/sni", sni: ["*.internal.localhost"] }, auth: "public" },
  { name: "sni", match: { host: "localhost", path: "/sni" }, auth: "required" },
  {
    name: "hours-closed",
    match: { host: "localhost", path: "/hours", time: { days: closedDays, timeZone: "UTC" } },
    auth: "public",
  },
  {
    name: "hours-open",
    match: { host: "localhost", path: "/hours/open", time: { days: openDays, timeZone: "UTC" } },
    auth: "public",
  },
  { name: "hours", match: { host: "localhost", path: "/hours" }, auth: "required" },
  {
    name: "office",
    match: { host: "localhost", path: "/office" },
    auth: "required",
    require: { request: { time: { days: closedDays, timeZone: "UTC" } } },
  },
];

let envoyOnly: Stack;
let trusting: Stack;

beforeAll(async () => {
  [envoyOnly, trusting] = await Promise.all([
    startStack({ routes: ROUTES, envoyConfig: envoyTrustingOneHop }),
    startStack({ routes: ROUTES, envoyConfig: envoyTrustingOneHop, config: { policy: { trustedForwardedHops: 1 } } }),
  ]);
});

afterAll(async () => {
  await Promise.all([envoyOnly?.close(), trusting?.close()]);
});

describe("the client address through trusted hops", () => {
  it("Envoy's xff_num_trusted_hops alone leaves source.address the TCP peer", async () => {
    const res = await envoyOnly.request("/lab/x", { headers: { "x-forwarded-for": "203.0.113.7" } });
    expect(res.status).toBe(401);
  });

  it("with trustedForwardedHops: 1 the entry left of the one Envoy appended is the client's address", async () => {
    expect((await trusting.request("/lab/x", { headers: { "x-forwarded-for": "203.0.113.7" } })).status).toBe(200);
  });

  it("never takes the leftmost entry a client wrote, and fails closed without the header", async () => {
    const written = await trusting.request("/lab/x", { headers: { "x-forwarded-for": "203.0.113.7, 198.51.100.1" } });
    expect(written.status).toBe(401);
    expect((await trusting.request("/lab/x")).status).toBe(401);
  });

  it("a require.request address condition refuses with 403 request_condition_failed through Envoy", async () => {
    const refused = await trusting.request("/guarded/x", { headers: { "x-forwarded-for": "198.51.100.1" } });
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ error: "request_condition_failed" });
    const inside = await trusting.request("/guarded/x", { headers: { "x-forwarded-for": "203.0.113.7" } });
    expect(inside.status).toBe(401);
  });
});

describe("the TLS server name", () => {
  const get = (stack: Stack, servername: string) =>
    httpsRequest({ port: stack.envoyPort, path: "/sni/x", ca: stack.ca, servername });

  it("chooses the rule whose SNI the client's handshake named, whatever the Host", async () => {
    expect((await get(trusting, "api.internal.localhost")).status).toBe(200);
    expect((await get(trusting, "localhost")).status).toBe(401);
    expect((await get(trusting, "a.b.internal.localhost")).status).toBe(401);
  });
});

describe("time windows", () => {
  it("a rule outside its window does not match; one inside does", async () => {
    expect((await trusting.request("/hours/x")).status).toBe(401);
    expect((await trusting.request("/hours/open/x")).status).toBe(200);
  });

  it("a require.request window refuses with 403 outside it", async () => {
    const res = await trusting.request("/office/x");
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error: "request_condition_failed" });
  });
});
