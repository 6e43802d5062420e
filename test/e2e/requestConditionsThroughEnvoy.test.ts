// Request conditions through the real Envoy: a header, a query parameter and the source address
// (Envoy's source.address, the test client's 127.0.0.1, never X-Forwarded-For) choose between rules
// on the same path; a request that fails a condition goes on to the next rule.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    routes: [
      {
        name: "docs-v2",
        match: { host: "localhost", path: "/docs", headers: [{ name: "Accept-Version", equals: "2" }] },
        auth: "required",
      },
      {
        name: "docs-export",
        match: { host: "localhost", path: "/docs", query: [{ name: "format", equals: "csv" }] },
        auth: "required",
      },
      { name: "docs", match: { host: "localhost", path: "/docs" }, auth: "public" },
      {
        name: "ops-local",
        match: { host: "localhost", path: "/ops", sourceAddresses: ["127.0.0.0/8", "::1/128"] },
        auth: "public",
      },
      { name: "ops", match: { host: "localhost", path: "/ops" }, auth: "required" },
      {
        name: "lab-remote",
        match: { host: "localhost", path: "/lab", sourceAddresses: ["192.0.2.0/24"] },
        auth: "public",
      },
      { name: "lab", match: { host: "localhost", path: "/lab" }, auth: "required" },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
});

describe("request conditions through Envoy", () => {
  it("a header condition chooses the stricter rule only for requests that send it", async () => {
    expect((await stack.request("/docs/a")).status).toBe(200);
    expect((await stack.request("/docs/a", { headers: { "accept-version": "2" } })).status).toBe(401);
    expect((await stack.request("/docs/a", { headers: { "accept-version": "3" } })).status).toBe(200);
  });

  it("a query condition chooses its rule; a parameter given twice fails it closed", async () => {
    expect((await stack.request("/docs/a?format=csv")).status).toBe(401);
    expect((await stack.request("/docs/a?format=json")).status).toBe(200);
    // Given twice, the docs-export rule does not match; the request goes on to the next rule.
    expect((await stack.request("/docs/a?format=csv&format=csv")).status).toBe(200);
  });

  it("a source-address condition reads Envoy's peer address, never X-Forwarded-For", async () => {
    expect((await stack.request("/ops/x")).status).toBe(200);
    expect((await stack.request("/lab/x")).status).toBe(401);
    expect((await stack.request("/lab/x", { headers: { "x-forwarded-for": "192.0.2.7" } })).status).toBe(401);
  });
});
