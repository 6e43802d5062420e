// Envoy fails closed: when Portcullis cannot be asked, nothing reaches the upstream, not even a
// request with a valid token or to a public route.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.close();
});

describe("with Portcullis stopped", () => {
  it("Envoy denies every request with 503 and the upstream sees none of them", async () => {
    const token = await stack.clientCredentialsToken();
    expect((await stack.request("/api/x", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(await stack.stopPortcullis()).toBe(0);
    const seenBefore = stack.upstream.requests().length;

    const withToken = await stack.request("/api/x", { headers: { authorization: `Bearer ${token}` } });
    const publicRoute = await stack.request("/public/x");
    const noToken = await stack.request("/api/x");

    expect([withToken.status, publicRoute.status, noToken.status]).toEqual([503, 503, 503]);
    expect(stack.upstream.requests().length).toBe(seenBefore);
  });
});
