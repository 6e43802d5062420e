// x-forwarded-client-cert as real Envoy writes it (forward_client_cert_details: SANITIZE_SET, with
// Hash, Subject, URI and DNS) read on a route that trusts the hop, against the same certificate read
// from the Check's peer certificate on a route that does not: one certificate means one thumbprint,
// one subject and one set of names whichever way it arrives, also for a subject whose RFC 4514 form
// holds escapes (a quote, a backslash, a comma, bytes above 0x7f) or an RDN of two attributes, so one
// `subject` selector admits it on both routes.
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
/** Each certificate's subject as the peer-certificate route reads it: the selector both routes get. */
const subjects: Record<string, string> = {};
const NAMES = ["odd", "multi", "utf8"] as const;

beforeAll(async () => {
  scope = await createTempScope("portcullis-pki-");
  pki = await createTestPki(scope.dir, {
    odd: { subject: '/O=Exa, mple/CN=a"b\\\\c', altNames: [`URI:${SPIFFE}`, "DNS:odd.internal"] },
    multi: { subject: "/O=Example/CN=billing+OU=ops" },
    utf8: { subject: "/O=Example/CN=M\u00fcller" },
  });
  for (const name of NAMES)
    subjects[name] = parseClientCertificate(encodeURIComponent(pki.clients[name]!.certPem))!.subject!;
  const clients = (prefix: string) =>
    NAMES.map((name) => ({ subject: subjects[name]!, clientId: `${prefix}-${name}` }));
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
  it.each(NAMES)(
    "admits %s by one subject selector whether its certificate comes as the peer's or forwarded",
    async (name) => {
      const client = pki.clients[name]!;
      const peer = await send("/peer/x", client);
      expect([peer.status, peer.upstream?.headers["x-client-id"]]).toEqual([200, `by-peer-${name}`]);
      const forwarded = await send("/forwarded/x", client);
      expect([forwarded.status, forwarded.upstream?.headers["x-client-id"]]).toEqual([200, `by-forwarded-${name}`]);
      // What Envoy wrote reached Portcullis (and the upstream, on the route that trusts it).
      expect(String(forwarded.upstream?.headers["x-forwarded-client-cert"])).toContain(`Subject="${subjects[name]}"`);
    },
  );

  it("binds a token to the forwarded certificate's thumbprint", async () => {
    const client = pki.clients["odd"]!;
    const bound = await stack.signToken({ cnf: { "x5t#S256": client.thumbprint } });
    expect((await send("/bound/x", client, { authorization: `Bearer ${bound}` })).status).toBe(200);
    const other = await stack.signToken({ cnf: { "x5t#S256": "A".repeat(43) } });
    expect((await send("/bound/x", client, { authorization: `Bearer ${other}` })).status).toBe(401);
  });
});
