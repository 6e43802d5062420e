// Two OIDC providers side by side through the real Envoy: the stack's dev IdP as provider `a` and a
// second dev IdP instance (its own keys, issuer and audience) as provider `b`. A token goes to the
// provider its `iss` names; a route bound to one provider refuses the other's tokens; a token from
// an issuer nobody configured is refused without a single outbound request.

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import type { SigningJwk } from "../../src/demo/startDevIdp.ts";
import { startDevIdp } from "../../src/demo/startDevIdp.ts";
import type { DevIdp } from "../../src/demo/startDevIdp.ts";
import { closeServer, listenServer } from "../../src/demo/startEchoUpstream.ts";
import { countHttpRequests } from "../harness/countHttpRequests.ts";
import type { HttpRequestCounter } from "../harness/countHttpRequests.ts";
import { reservePort } from "../harness/reservePort.ts";
import { startStack, TEST_AUDIENCE } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

const B_AUDIENCE = "portcullis-e2e-api-b";

const providerSettings = { allowInsecureHttp: true, discoveryTimeoutMs: 10_000, jwksTimeoutMs: 5000 };

let stack: Stack;
let idpB: DevIdp;
/** b's signing key: the test made it, so it can sign tokens as b with claims b would not issue. */
let keyB: SigningJwk;
let requests: HttpRequestCounter;
/** A plain HTTP server standing where an unknown issuer's keys would be: it must never be asked. */
let stranger: { readonly issuer: string; readonly port: number; close(): Promise<void> };

beforeAll(async () => {
  // Counting starts before anything listens, so the start-up fetches prove the counter sees them.
  requests = countHttpRequests();
  const strangerServer = createServer((_req, res) => res.writeHead(404).end());
  await listenServer(strangerServer, 0);
  const strangerPort = (strangerServer.address() as AddressInfo).port;
  stranger = {
    issuer: `http://127.0.0.1:${strangerPort}`,
    port: strangerPort,
    close: () => closeServer(strangerServer),
  };

  keyB = await createSigningJwk();
  idpB = await startDevIdp({ signingKeys: [keyB], audience: B_AUDIENCE });
  // The stack's IdP gets this port, so its issuer (provider a) is known before the config is written.
  const idpPort = await reservePort();
  stack = await startStack({
    idpPort,
    config: {
      providers: {
        a: { issuer: `http://127.0.0.1:${idpPort.port}`, audiences: [TEST_AUDIENCE], ...providerSettings },
        b: { issuer: idpB.issuer, audiences: [B_AUDIENCE], ...providerSettings },
      },
    },
    routes: [
      { name: "only-a", match: { host: "localhost", path: "/a" }, auth: "required", providers: ["a"] },
      { name: "only-b", match: { host: "localhost", path: "/b" }, auth: "required", providers: ["b"] },
      { name: "either", match: { host: "localhost", path: "/either" }, auth: "required" },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
  await idpB?.close();
  await stranger?.close();
  requests?.close();
});

async function send(path: string, token: string) {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { authorization: `Bearer ${token}`, "x-test-marker": marker } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...res, error: (res.json as { error?: unknown } | undefined)?.error ?? null, upstream };
}

describe("two providers side by side", () => {
  it("each provider's token passes on its own route and on a route open to both", async () => {
    const fromA = await stack.idp().mintUserToken("alice");
    const fromB = await idpB.mintUserToken("bob");
    const a = await send("/a/x", fromA);
    expect(a.status).toBe(200);
    expect(a.upstream?.headers["x-user-sub"]).toBe("alice");
    const b = await send("/b/x", fromB);
    expect(b.status).toBe(200);
    expect(b.upstream?.headers["x-user-sub"]).toBe("bob");
    expect((await send("/either", fromA)).status).toBe(200);
    expect((await send("/either", fromB)).status).toBe(200);
  });

  it("a token from b is refused on the route bound to a with 401 issuer_mismatch, and passes on b's", async () => {
    const before = await stack.metric("portcullis_checks_total", { route: "only-a", reason: "issuer_mismatch" });
    const fromB = await idpB.clientCredentialsToken();
    const onA = await send("/a/x", fromB);
    expect([onA.status, onA.error, onA.upstream]).toEqual([401, "issuer_mismatch", undefined]);
    expect(String(onA.headers["www-authenticate"])).toContain('error="invalid_token"');
    expect((await send("/b/x", fromB)).status).toBe(200);
    // Verified and cached by now: the cache must not let it onto a's route either.
    const again = await send("/a/x", fromB);
    expect([again.status, again.error, again.upstream]).toEqual([401, "issuer_mismatch", undefined]);
    expect(await stack.metric("portcullis_checks_total", { route: "only-a", reason: "issuer_mismatch" })).toBe(
      before + 2,
    );
  });

  it("a token from a is refused on the route bound to b", async () => {
    const onB = await send("/b/x", await stack.idp().mintUserToken("alice"));
    expect([onB.status, onB.error, onB.upstream]).toEqual([401, "issuer_mismatch", undefined]);
  });

  it("a token b signed for a's audience is refused: each provider accepts only its own audiences", async () => {
    const crossAudience = await stack.signToken({ iss: idpB.issuer, aud: TEST_AUDIENCE }, {}, keyB);
    for (const path of ["/b/x", "/either"]) {
      const res = await send(path, crossAudience);
      expect([path, res.status, res.error, res.upstream]).toEqual([path, 401, "audience_mismatch", undefined]);
    }
    // The same claims with b's audience pass: the key and issuer were right, only aud was not.
    expect((await send("/b/x", await stack.signToken({ iss: idpB.issuer, aud: B_AUDIENCE }, {}, keyB))).status).toBe(
      200,
    );
  });
});

describe("a token from an issuer no provider has", () => {
  it("is refused with 401 issuer_mismatch and makes zero outbound requests", async () => {
    // The counter works: both IdPs were asked for discovery and keys while Portcullis started.
    expect(requests.count(stack.idp().port), "IdP a start-up requests").toBeGreaterThanOrEqual(2);
    expect(requests.count(idpB.port), "IdP b start-up requests").toBeGreaterThanOrEqual(2);

    const tokens = [
      // Its iss points at a server we watch, and so does its key's kid: nothing may fetch from it.
      await stack.signToken({ iss: stranger.issuer }, {}, await createSigningJwk()),
      // A look-alike of a configured issuer (same origin, another path).
      await stack.signToken({ iss: `${idpB.issuer}/tenant-x` }, {}, await createSigningJwk()),
    ];
    const counted = () => [requests.count(stack.idp().port), requests.count(idpB.port), requests.count(stranger.port)];
    const before = counted();
    const seenBefore = { a: requests.seen(stack.idp().port), b: requests.seen(idpB.port) };
    const jwksBefore = await stack.metric("portcullis_jwks_fetches_total");

    for (const token of tokens) {
      for (const path of ["/a/x", "/b/x", "/either"]) {
        const res = await send(path, token);
        expect([path, res.status, res.error, res.upstream]).toEqual([path, 401, "issuer_mismatch", undefined]);
      }
    }

    expect(
      counted(),
      `new requests at a: ${requests.seen(stack.idp().port).slice(seenBefore.a.length).join(", ")}; at b: ${requests.seen(idpB.port).slice(seenBefore.b.length).join(", ")}`,
    ).toEqual(before);
    expect(requests.count(stranger.port)).toBe(0);
    expect(await stack.metric("portcullis_jwks_fetches_total")).toBe(jwksBefore);
  });
});
