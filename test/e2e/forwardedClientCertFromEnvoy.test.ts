// x-forwarded-client-cert as real Envoy writes it (forward_client_cert_details: SANITIZE_SET, with
// Hash, Subject, URI and DNS) read on a route that trusts the hop, against the same certificate read
// from the Check's peer certificate on a route that does not: one certificate means one thumbprint,
// one subject and one set of names whichever way it arrives, also for a subject whose RFC 4514 form
// holds escapes (a quote, a backslash, a comma), so one `subject` selector admits it on both routes.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseClientCertificate } from "../../src/core/parseClientCertificate.ts";
import { createTempScope, type TempScope } from "../harness/createTempScope.ts";
import { createTestPki, type TestCertificate, type TestPki } from "../harness/createTestPki.ts";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { withMtlsListener } from "../harness/withMtlsListener.ts";

const SPIFFE = "spiffe://example.org/ns/odd/sa/api";

let scope: TempScope;
let pki: TestPki;
let stack: Stack;
let subject: string;

beforeAll(async () => {
  scope = await createTempScope("portcullis-pki-");
  pki = await createTestPki(scope.dir, {
    odd: { subject: '/O=Exa, mple/CN=a"b\\\\c', altNames: [`URI:${SPIFFE}`, "DNS:odd.internal"] },
  });
  // The subject as the peer-certificate route reads it: the selector both routes are given.
  subject = parseClientCertificate(encodeURIComponent(pki.clients["odd"]!.certPem))!.subject!;
  const clients = (clientId: string) => [{ subject, clientId }];
  stack = await startStack({
    routes: [
      { name: "peer", match: { path: "/peer" }, auth: "required", mtls: { clients: clients("by-peer") } },
      {
        name: "forwarded",
        match: { path: "/forwarded" },
        auth: "required",
        mtls: { trustForwardedClientCert: true, clients: clients("by-forwarded") },
      },
      {
        name: "forwarded-bound",
        match: { path: "/bound" },
        auth: "required",
        require: { boundTokens: "mtls" },
        mtls: { trustForwardedClientCert: true },
      },
    ],
    envoyConfig: (rendered) => withMtlsListener(rendered, pki, { forwardClientCert: "SANITIZE_SET" }),
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await scope?.close();
});

async function send(path: string, client: TestCertificate, headers: Record<string, string> = {}) {
  const marker = randomUUID();
  const response = await httpsRequest({
    port: stack.envoyListenerPorts["mtls"]!,
    path,
    ca: pki.caPem,
    headers: { "x-test-marker": marker, ...headers },
    clientCertificate: { cert: client.certPem, key: client.keyPem },
  });
  const seen = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...response, upstream: seen };
}

describe("x-forwarded-client-cert written by Envoy", () => {
  it("admits by one subject selector whether the certificate comes as the peer's or forwarded", async () => {
    const client = pki.clients["odd"]!;
    expect(subject).toContain('\\"');
    const peer = await send("/peer/x", client);
    expect([peer.status, peer.upstream?.headers["x-client-id"]]).toEqual([200, "by-peer"]);
    const forwarded = await send("/forwarded/x", client);
    // Envoy's own element reached Portcullis (and the upstream, on the route that trusts it).
    expect(String(forwarded.upstream?.headers["x-forwarded-client-cert"] ?? "")).toContain("Subject=");
    expect([forwarded.status, forwarded.upstream?.headers["x-client-id"]]).toEqual([200, "by-forwarded"]);
  });

  it("binds a token to the forwarded certificate's thumbprint", async () => {
    const client = pki.clients["odd"]!;
    const bound = await stack.signToken({ cnf: { "x5t#S256": client.thumbprint } });
    expect((await send("/bound/x", client, { authorization: `Bearer ${bound}` })).status).toBe(200);
    const other = await stack.signToken({ cnf: { "x5t#S256": "A".repeat(43) } });
    expect((await send("/bound/x", client, { authorization: `Bearer ${other}` })).status).toBe(401);
  });
});
