// The client certificate as Envoy hands it over (URL-encoded PEM) and as a trusted proxy forwards it
// (x-forwarded-client-cert), read from real certificates made with openssl: thumbprint, subject and
// names as RFC 8705 and the mtls.clients selectors compare them, and everything else refused.
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CLIENT_CERTIFICATE_CHARS } from "../../src/core/ClientCertificate.ts";
import { parseClientCertificate } from "../../src/core/parseClientCertificate.ts";
import { parseForwardedClientCert } from "../../src/core/parseForwardedClientCert.ts";
import { createTestPki, type TestPki } from "../harness/createTestPki.ts";

const SPIFFE = "spiffe://example.org/ns/billing/sa/api";
let dir: string;
let pki: TestPki;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-pki-"));
  pki = await createTestPki(dir, {
    billing: {
      subject: "/C=DE/O=Exa, mple/CN=billing",
      altNames: [`URI:${SPIFFE}`, "DNS:Billing.Internal", "DNS:x.example"],
    },
    plain: { subject: "/CN=plain" },
  });
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const encoded = (pem: string) => encodeURIComponent(pem);
const hexHash = (thumbprint: string) => Buffer.from(thumbprint, "base64url").toString("hex");

describe("parseClientCertificate", () => {
  it("reads thumbprint, RFC 4514 subject and the URI and DNS names of Envoy's URL-encoded PEM", () => {
    const billing = pki.clients["billing"]!;
    expect(parseClientCertificate(encoded(billing.certPem))).toEqual({
      thumbprint: billing.thumbprint,
      subject: "CN=billing,O=Exa\\, mple,C=DE",
      uris: [SPIFFE],
      dnsNames: ["billing.internal", "x.example"],
    });
    expect(parseClientCertificate(encoded(pki.clients["plain"]!.certPem))).toMatchObject({ uris: [], dnsNames: [] });
  });

  it("refuses two certificates, text before the certificate, a broken PEM, bad escapes and an oversized value", () => {
    const pem = pki.clients["billing"]!.certPem;
    expect(parseClientCertificate(encoded(pem + pki.caPem))).toBeNull();
    expect(parseClientCertificate(encoded(`junk\n${pem}`))).toBeNull();
    expect(parseClientCertificate(encoded(pem.replace(/[A-Za-z]{8}\n/, "\n")))).toBeNull();
    expect(parseClientCertificate("%E0%A4%A")).toBeNull();
    expect(parseClientCertificate(encoded(pem).padEnd(MAX_CLIENT_CERTIFICATE_CHARS + 1, "%0A"))).toBeNull();
    expect(parseClientCertificate("")).toBeNull();
  });
});

describe("parseForwardedClientCert", () => {
  it("reads Envoy's Hash, Subject, URI and DNS fields", () => {
    const hash = createHash("sha256").update("der").digest("hex");
    const header = `By=spiffe://example.org/gw;Hash=${hash};Subject="CN=billing,O=Example";URI=${SPIFFE};DNS=a.example;DNS=B.example`;
    expect(parseForwardedClientCert(header, "one")).toEqual({
      ok: true,
      certificate: {
        thumbprint: Buffer.from(hash, "hex").toString("base64url"),
        subject: "CN=billing,O=Example",
        uris: [SPIFFE],
        dnsNames: ["a.example", "b.example"],
      },
    });
  });

  it("reads a forwarded Cert, which must hash to the Hash beside it", () => {
    const billing = pki.clients["billing"]!;
    const header = `Hash=${hexHash(billing.thumbprint)};Cert="${encoded(billing.certPem)}"`;
    expect(parseForwardedClientCert(header, "one")).toMatchObject({ ok: true, certificate: { uris: [SPIFFE] } });
    const lying = `Hash=${hexHash(pki.clients["plain"]!.thumbprint)};Cert="${encoded(billing.certPem)}"`;
    expect(parseForwardedClientCert(lying, "one")).toMatchObject({
      ok: false,
      problem: expect.stringContaining("Hash"),
    });
  });

  it("refuses two elements unless told to read the last, which is then the one that counts", () => {
    const a = `Hash=${"aa".repeat(32)};URI=spiffe://example.org/a`;
    const b = `Hash=${"bb".repeat(32)};URI=spiffe://example.org/b`;
    expect(parseForwardedClientCert(`${a},${b}`, "one")).toMatchObject({ ok: false });
    expect(parseForwardedClientCert(`${a},${b}`, "last")).toMatchObject({
      ok: true,
      certificate: { uris: ["spiffe://example.org/b"] },
    });
  });

  it.each([
    ["an unknown key", `Hash=${"aa".repeat(32)};Role=admin`],
    ["a Hash given twice", `Hash=${"aa".repeat(32)};Hash=${"bb".repeat(32)}`],
    ["a Hash that is not hex SHA-256", "Hash=abc"],
    ["neither Hash nor Cert", `URI=${SPIFFE}`],
    ["an unterminated quote", `Hash=${"aa".repeat(32)};Subject="CN=x`],
    ["a field without a value", `Hash=${"aa".repeat(32)};URI`],
    ["a stray quote in a bare value", `Hash=${"aa".repeat(32)};URI=spiffe://a"b`],
    ["a Cert that is not a certificate", `Hash=${"aa".repeat(32)};Cert="abc"`],
  ])("refuses %s", (_name, header) => {
    expect(parseForwardedClientCert(header, "one")).toMatchObject({ ok: false });
  });

  it("keeps a comma inside a quoted Subject within its element, and its RFC 4514 escapes as written", () => {
    // Envoy wraps the subject's RFC 4514 text in quotes as it is: `\"` and `\\` are the subject's
    // own escapes, read as the peer certificate's subject reads (CN=a"b\c, O=Exa, mple).
    const header = `Hash=${"aa".repeat(32)};Subject="CN=a\\"b\\\\c,O=Exa\\, mple"`;
    expect(parseForwardedClientCert(header, "one")).toMatchObject({
      ok: true,
      certificate: { subject: 'CN=a\\"b\\\\c,O=Exa\\, mple' },
    });
  });
});
