// identity.metadata: an allowed answer carries who was let through and where as the Check answer's
// dynamic metadata (route, provider, credential, kind, sub, client_id, tenant, chosen claims), built
// from verified claims only, sanitised and bounded, kept with the reused answer, and written on the
// wire as the google.protobuf.Struct Envoy reads; a denial carries its route and code, and who the
// caller is only once verified; check-config refuses claims that name a credential.
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { createDynamicMetadata } from "../../src/identity/createDynamicMetadata.ts";
import { checkResponseBytes } from "../../src/transport/checkResponseBytes.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";

const parsed = parseConfig({
  providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
  routes: [
    { name: "open", match: { path: "/open" }, auth: "public" },
    { name: "jobs", match: { path: "/jobs" }, auth: "required", require: { scopes: ["jobs:run"] } },
    { name: "api", match: { path: "/" }, auth: "required" },
  ],
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const routes: readonly RouteConfig[] = parsed.config.routes;
const outcome = (claims: Record<string, unknown>): VerifyOutcome => ({
  ok: true,
  provider: "corp",
  claims: { exp: 2e9, ...claims },
  expiresAt: 2e9,
});
const tokens = {
  alice: outcome({ sub: "alice", azp: "web", tid: "acme", email: "alice@example.com", groups: ["a", "b"] }),
  robot: outcome({ sub: "batch", client_id: "batch", scope: "jobs" }),
  odd: outcome({ sub: " spaced ", email: "x\r\ny", tid: { nested: true }, groups: "g".repeat(400) }),
};
const settings = {
  enabled: true,
  namespace: "portcullis",
  tenantClaim: "tid",
  claims: ["email", "groups"],
  maxValueBytes: 64,
};
const metadataGate = () =>
  gateOver({ routes, tokens, tokenCache: true, metadata: createDynamicMetadata(settings) }).gate;
const fieldsOf = (decision: unknown) =>
  Object.fromEntries((decision as { metadata: { fields: [string, string][] } }).metadata.fields);

describe("dynamic metadata of allowed answers", () => {
  it("names a person's sub, client, tenant, route, provider and the chosen claims", async () => {
    const decision = await metadataGate().decide(checkRequest("/x", { authorization: "Bearer alice" }));
    expect(decision).toMatchObject({ kind: "allow", metadata: { namespace: "portcullis" } });
    expect(fieldsOf(decision)).toEqual({
      route: "api",
      provider: "corp",
      credential: "bearer",
      kind: "user",
      sub: "alice",
      client_id: "web",
      tenant: "acme",
      email: "alice@example.com",
      groups: "a,b",
    });
  });

  it("names a machine as a client by its client_id", async () => {
    const decision = await metadataGate().decide(checkRequest("/x", { authorization: "Bearer robot" }));
    expect(fieldsOf(decision)).toMatchObject({ kind: "client", sub: "batch", client_id: "batch" });
  });

  it("leaves out an identifier it would have to change and cleans and cuts free-form claims", async () => {
    const decision = await metadataGate().decide(checkRequest("/x", { authorization: "Bearer odd" }));
    const fields = fieldsOf(decision);
    expect(fields["sub"]).toBeUndefined();
    expect(fields["tenant"]).toBeUndefined();
    expect(fields["email"]).toBe("xy");
    expect(fields["groups"]).toBe("g".repeat(64));
  });

  it("carries the route alone on a public answer, and nothing when metadata is off", async () => {
    expect(fieldsOf(await metadataGate().decide(checkRequest("/open")))).toEqual({ route: "open" });
    const plain = gateOver({ routes, tokens }).gate;
    expect(await plain.decide(checkRequest("/x", { authorization: "Bearer alice" }))).not.toHaveProperty("metadata");
    expect(createDynamicMetadata({ ...settings, enabled: false })).toBeNull();
  });

  it("keeps the metadata in the reused answer of a cached token, whose bytes carry it as a Struct", async () => {
    const gate = metadataGate();
    await gate.decide(checkRequest("/x", { authorization: "Bearer alice" }));
    const kept = await gate.decide(checkRequest("/x", { authorization: "Bearer alice" }));
    expect(Object.isFrozen(kept)).toBe(true);
    expect(await gate.decide(checkRequest("/y", { authorization: "Bearer alice" }))).toBe(kept);
    const { checkResponse } = loadUpstreamExtAuthzTypes();
    const read = checkResponse.toObject(checkResponse.decode(checkResponseBytes(kept)!)) as {
      dynamicMetadata?: unknown;
      dynamic_metadata?: unknown;
    };
    const struct = (read.dynamicMetadata ?? read.dynamic_metadata) as {
      fields: Record<string, { structValue: { fields: Record<string, { stringValue: string }> } }>;
    };
    expect(struct.fields["portcullis"]!.structValue.fields["sub"]!.stringValue).toBe("alice");
  });

  it("is refused by check-config for a claim that names a credential, and for more than 16 claims", () => {
    const base = {
      providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
      routes: [{ name: "api", match: { path: "/" }, auth: "required" }],
    };
    const withClaims = (claims: string[]) =>
      parseConfig({ ...base, identity: { metadata: { enabled: true, claims } } });
    const refused = withClaims(["email", "access_token"]);
    expect(refused.ok).toBe(false);
    expect(JSON.stringify(refused)).toContain("identity.metadata.claims[1]");
    const many = withClaims(Array.from({ length: 17 }, (_, i) => `c${i}`));
    expect(JSON.stringify(many)).toContain("at most 16");
    expect(withClaims(["email", "tid"]).ok).toBe(true);
  });
});

describe("dynamic metadata of denials", () => {
  it("names the route and code of a request without a credential, and nobody", async () => {
    const decision = await metadataGate().decide(checkRequest("/x"));
    expect(decision).toMatchObject({ kind: "deny", status: 401, metadata: { namespace: "portcullis" } });
    expect(fieldsOf(decision)).toEqual({ route: "api", code: "token_missing" });
  });

  it("never names the subject of a token that was refused", async () => {
    const decision = await metadataGate().decide(checkRequest("/x", { authorization: "Bearer forged" }));
    expect(fieldsOf(decision)).toEqual({ route: "api", code: "signature_invalid" });
  });

  it("names a verified caller refused by the route's requirements, with the code", async () => {
    const decision = await metadataGate().decide(checkRequest("/jobs/1", { authorization: "Bearer alice" }));
    expect(decision).toMatchObject({ kind: "deny", status: 403 });
    expect(fieldsOf(decision)).toEqual({
      route: "jobs",
      code: "insufficient_scope",
      provider: "corp",
      credential: "bearer",
      kind: "user",
      sub: "alice",
      client_id: "web",
      tenant: "acme",
      email: "alice@example.com",
      groups: "a,b",
    });
  });

  it("names no route when none matched, and nothing when metadata is off", async () => {
    const hostless = gateOver({ routes: routes.slice(0, 1), tokens, metadata: createDynamicMetadata(settings) }).gate;
    expect(fieldsOf(await hostless.decide(checkRequest("/elsewhere")))).toEqual({ code: "route_not_found" });
    const plain = gateOver({ routes, tokens }).gate;
    expect(await plain.decide(checkRequest("/jobs/1", { authorization: "Bearer alice" }))).not.toHaveProperty(
      "metadata",
    );
  });

  it("writes a denial's metadata into the CheckResponse bytes Envoy reads", async () => {
    const decision = await metadataGate().decide(checkRequest("/jobs/1", { authorization: "Bearer robot" }));
    const { checkResponse } = loadUpstreamExtAuthzTypes();
    const read = checkResponse.toObject(checkResponse.decode(checkResponseBytes(decision)!)) as {
      dynamicMetadata?: unknown;
      dynamic_metadata?: unknown;
      deniedResponse?: unknown;
      denied_response?: unknown;
    };
    expect(read.deniedResponse ?? read.denied_response).toBeDefined();
    const struct = (read.dynamicMetadata ?? read.dynamic_metadata) as {
      fields: Record<string, { structValue: { fields: Record<string, { stringValue: string }> } }>;
    };
    const fields = struct.fields["portcullis"]!.structValue.fields;
    expect([fields["code"]!.stringValue, fields["client_id"]!.stringValue, fields["kind"]!.stringValue]).toEqual([
      "insufficient_scope",
      "batch",
      "client",
    ]);
  });
});
