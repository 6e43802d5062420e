// Certificate-bound access tokens (RFC 8705) and machines admitted by certificate, through real Envoy
// with an mTLS listener (a test CA, server and client certificates made with openssl at test time)
// beside the stack's plain HTTPS listener: a token whose cnf matches the client certificate passes,
// one bound to another certificate or presented without one is refused, a plain token is refused
// where the route demands mTLS, a listed workload gets in by its SPIFFE ID alone, and a client's own
// x-forwarded-client-cert is ignored and removed where the route does not trust the hop.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestCertificate, type TestPki } from "../harness/createTestPki.ts";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { withMtlsListener } from "../harness/withMtlsListener.ts";
import { createTempScope, type TempScope } from "../harness/createTempScope.ts";

const BILLING = "spiffe://example.org/ns/billing/sa/api";

let scope: TempScope;
let pki: TestPki;
let stack: Stack;

beforeAll(async () => {
  scope = await createTempScope("portcullis-pki-");
  pki = await createTestPki(scope.dir, {
    billing: { subject: "/O=Example/CN=billing", altNames: [`URI:${BILLING}`] },
    reporting: { subject: "/O=Example/CN=reporting", altNames: ["URI:spiffe://example.org/ns/reporting/sa/api"] },
  });
  stack = await startStack({
    routes: [
      { name: "bound", match: { path: "/bound" }, auth: "required", require: { boundTokens: "mtls" } },
      {
        name: "machines",
        match: { path: "/machines" },
        auth: "required",
        mtls: { clients: [{ spiffeId: BILLING, clientId: "billing" }] },
      },
      { name: "api", match: { path: "/api" }, auth: "required" },
    ],
    // Envoy passes a client's own x-forwarded-client-cert on to Portcullis, as behind a misplaced trust.
    envoyConfig: (rendered) => withMtlsListener(rendered, pki, { forwardClientCert: "FORWARD_ONLY" }),
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await scope?.close();
});

/** A request through the mTLS listener with `client`'s certificate, or through the plain one without. */
async function send(path: string, headers: Record<string, string>, client: TestCertificate | null) {
  const marker = randomUUID();
  const response = await httpsRequest({
    port: client === null ? stack.envoyPort : stack.envoyListenerPorts["mtls"]!,
    path,
    ca: client === null ? stack.ca : pki.caPem,
    headers: { "x-test-marker": marker, ...headers },
    ...(client === null ? {} : { clientCertificate: { cert: client.certPem, key: client.keyPem } }),
  });
  const seen = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...response, upstream: seen };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const errorCode = (res: { json: unknown }) => (res.json as { error?: unknown } | undefined)?.error;
const boundTo = (certificate: TestCertificate) => stack.signToken({ cnf: { "x5t#S256": certificate.thumbprint } });

describe("a certificate-bound token through Envoy's mTLS listener", () => {
  it("is let through with the certificate its cnf names, again once cached", async () => {
    const token = await boundTo(pki.clients["billing"]!);
    for (let i = 0; i < 2; i++) {
      const res = await send("/api/things", bearer(token), pki.clients["billing"]!);
      expect(res.status).toBe(200);
      expect(res.upstream?.headers["x-user-sub"]).toBe("forged-by-test");
    }
  });

  it("is refused with 401 token_binding_mismatch from a client with another certificate", async () => {
    const res = await send("/api/things", bearer(await boundTo(pki.clients["billing"]!)), pki.clients["reporting"]!);
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe("token_binding_mismatch");
    expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer\b.*error="invalid_token"/);
    expect(res.upstream).toBeUndefined();
  });

  it("is refused with 401 type_not_allowed without a client certificate (the plain listener)", async () => {
    const res = await send("/api/things", bearer(await boundTo(pki.clients["billing"]!)), null);
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe("type_not_allowed");
    expect(res.upstream).toBeUndefined();
  });
});

describe("a route that demands certificate-bound tokens (require.boundTokens: mtls)", () => {
  it("refuses a plain bearer token, even with a client certificate, with the Bearer invalid_token challenge", async () => {
    const res = await send("/bound/x", bearer(await stack.signToken()), pki.clients["billing"]!);
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe("bound_token_required");
    expect(String(res.headers["www-authenticate"])).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="this route requires a sender-constrained token"',
    );
    expect(res.upstream).toBeUndefined();
  });

  it("lets a token bound to the presented certificate through", async () => {
    const res = await send("/bound/x", bearer(await boundTo(pki.clients["billing"]!)), pki.clients["billing"]!);
    expect(res.status).toBe(200);
  });
});

describe("a workload admitted by its certificate alone (mtls.clients)", () => {
  it("gets in without a token, as the client its SPIFFE ID names (x-client-id)", async () => {
    const res = await send(
      "/machines/invoices",
      { "x-client-id": "admin", "x-user-sub": "root" },
      pki.clients["billing"]!,
    );
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-client-id"]).toBe("billing");
    expect(res.upstream?.headers["x-user-sub"]).toBeUndefined();
  });

  it("is refused with 401 when its certificate is not listed", async () => {
    const res = await send("/machines/invoices", {}, pki.clients["reporting"]!);
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe("token_missing");
  });

  it("cannot be impersonated with a forged x-forwarded-client-cert, which never reaches the upstream", async () => {
    const forged = `Hash=${Buffer.from(pki.clients["billing"]!.thumbprint, "base64url").toString("hex")};URI=${BILLING}`;
    const refused = await send("/machines/invoices", { "x-forwarded-client-cert": forged }, pki.clients["reporting"]!);
    expect(refused.status).toBe(401);
    expect(refused.upstream).toBeUndefined();
    const allowed = await send("/machines/invoices", { "x-forwarded-client-cert": forged }, pki.clients["billing"]!);
    expect(allowed.status).toBe(200);
    expect(allowed.upstream?.headers["x-forwarded-client-cert"]).toBeUndefined();
  });
});
