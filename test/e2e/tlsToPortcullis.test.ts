// Envoy → Portcullis over TLS (`listen.tls`), as central mode ships it: on each gRPC transport a
// valid token is let through and a missing one refused; with client-certificate verification an
// Envoy without a certificate is refused at the handshake and, failure_mode_allow being false, its
// clients get the shipped status_on_error (503); the auth listener answers /oauth2/* over https; a
// certificate rotated by a Kubernetes-style Secret update is presented to new handshakes without a
// restart (also under --workers 2), while a bad pair leaves the previous one serving; and the shipped
// envoy/replicas.yaml runs against replicas serving listen.tls.
import { X509Certificate } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTempScope, type TempScope } from "../harness/createTempScope.ts";
import { createTestPki, type TestPki } from "../harness/createTestPki.ts";
import { createSecretDir, type SecretDir } from "../harness/kubernetesSecretDir.ts";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { servedCertificateSerial } from "../harness/servedCertificateSerial.ts";
import { startReplicaStack, type ReplicaStack } from "../harness/startReplicaStack.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import { withUpstreamTlsToPortcullis } from "../harness/withUpstreamTlsToPortcullis.ts";

type Transport = "net" | "http2" | "grpc-js";

let scope: TempScope;
let pki: TestPki;
/** A second CA and server certificate: what a rotation swaps in. */
let renewed: TestPki;
let bothCas: string;

beforeAll(async () => {
  scope = await createTempScope("portcullis-tls-");
  for (const name of ["pki", "renewed"]) await mkdir(join(scope.dir, name));
  pki = await createTestPki(join(scope.dir, "pki"), { envoy: { subject: "/CN=envoy" } });
  renewed = await createTestPki(join(scope.dir, "renewed"), {});
  bothCas = join(scope.dir, "both-ca.crt");
  await writeFile(bothCas, pki.caPem + renewed.caPem);
});
afterAll(() => scope?.close());

function tlsStack(
  transport: Transport,
  tlsDir: SecretDir,
  envoyClientCert: boolean,
  serveArgs: readonly string[] = [],
): Promise<Stack> {
  const client = pki.clients.envoy!;
  return startStack({
    config: {
      listen: {
        grpc: "127.0.0.1:0",
        auth: "127.0.0.1:0",
        admin: "127.0.0.1:0",
        grpcTransport: transport,
        tls: {
          certFile: tlsDir.file("tls.crt"),
          keyFile: tlsDir.file("tls.key"),
          clientCaFile: tlsDir.file("ca.crt"),
        },
      },
    },
    serveArgs,
    envoyConfig: (rendered) =>
      withUpstreamTlsToPortcullis(rendered, {
        caFile: bothCas,
        ...(envoyClientCert ? { client: { certFile: client.certFile, keyFile: client.keyFile } } : {}),
      }),
  });
}

async function serverSecret(name: string): Promise<SecretDir> {
  return createSecretDir(join(scope.dir, name), {
    "tls.crt": pki.server.certPem,
    "tls.key": pki.server.keyPem,
    "ca.crt": pki.caPem,
  });
}

describe.each(["net", "http2", "grpc-js"] as const)("Envoy → Portcullis over TLS on %s", (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await tlsStack(transport, await serverSecret(`secret-${transport}`), true);
  });
  afterAll(() => stack?.close());

  it("lets a valid token through and refuses a missing one", async () => {
    const token = await stack.signToken({ sub: `alice-${transport}` });
    expect((await stack.request("/api/things", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const refused = await stack.request("/api/things");
    expect(refused.status).toBe(401);
    expect(refused.headers["www-authenticate"]).toMatch(/^Bearer/);
  });

  it("presents the configured certificate to a client with a certificate of the client CA", async () => {
    const client = { cert: pki.clients.envoy!.certPem, key: pki.clients.envoy!.keyPem };
    const serial = await servedCertificateSerial({ port: stack.portcullisGrpcPort, ca: pki.caPem, client });
    expect(serial).toBe(new X509Certificate(pki.server.certPem).serialNumber);
  });
});

describe("client-certificate verification", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await tlsStack("net", await serverSecret("secret-no-client-cert"), false);
  });
  afterAll(() => stack?.close());

  it("fails closed (503, never the upstream) for an Envoy that presents no client certificate, even with a valid token", async () => {
    const token = await stack.signToken();
    const res = await stack.request("/api/things", { headers: { authorization: `Bearer ${token}` } });
    // The shipped Envoy configs: failure_mode_allow false, status_on_error 503.
    expect(res.status).toBe(503);
    expect(stack.upstream.requests()).toHaveLength(0);
  });
});

describe("certificate rotation without a restart", () => {
  let stack: Stack;
  let secret: SecretDir;
  const client = () => ({ cert: pki.clients.envoy!.certPem, key: pki.clients.envoy!.keyPem });
  const served = (port: number, alpn = "h2") =>
    servedCertificateSerial({ port, ca: pki.caPem + renewed.caPem, client: client(), alpn });
  beforeAll(async () => {
    secret = await serverSecret("secret-rotated");
    stack = await tlsStack("net", secret, true);
  });
  afterAll(() => stack?.close());

  it("answers /oauth2/* on the auth listener over https, through Envoy and directly", async () => {
    // Browser login is off in this stack: the auth listener's own JSON 404 is the answer.
    const through = await stack.request("/oauth2/callback");
    expect(through.status).toBe(404);
    expect(through.json).toMatchObject({ error: expect.any(String) });
    const direct = await httpsRequest({
      port: Number(new URL(stack.portcullisAuthUrl).port),
      path: "/oauth2/callback",
      ca: pki.caPem,
      clientCertificate: client(),
    });
    expect(direct.status).toBe(404);
  });

  it("presents a certificate swapped in by a Secret update to new handshakes, and keeps serving checks", async () => {
    const before = new X509Certificate(pki.server.certPem).serialNumber;
    const after = new X509Certificate(renewed.server.certPem).serialNumber;
    expect(await served(stack.portcullisGrpcPort)).toBe(before);
    await secret.update({ "tls.crt": renewed.server.certPem, "tls.key": renewed.server.keyPem, "ca.crt": pki.caPem });
    expect(await waitUntil(async () => (await served(stack.portcullisGrpcPort)) === after, 10_000)).toBe(true);
    expect(await served(Number(new URL(stack.portcullisAuthUrl).port), "http/1.1")).toBe(after);
    expect(await stack.metric("portcullis_tls_reloads_total", { result: "ok" })).toBe(1);
    const token = await stack.signToken();
    expect((await stack.request("/api/things", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it("keeps the previous certificate when the new key is not the certificate's, and counts the refusal", async () => {
    const serving = await served(stack.portcullisGrpcPort);
    await secret.update({ "tls.crt": pki.server.certPem, "tls.key": renewed.server.keyPem, "ca.crt": pki.caPem });
    expect(
      await waitUntil(
        async () => (await stack.metric("portcullis_tls_reloads_total", { result: "invalid" })) === 1,
        10_000,
      ),
    ).toBe(true);
    expect(await served(stack.portcullisGrpcPort)).toBe(serving);
    const log = await readFile(join(stack.dir, "portcullis.log"), "utf8");
    expect(log).toContain("TLS reload refused, the previous certificate still serves");
    expect(log).not.toContain("PRIVATE KEY");
  });
});

describe("certificate rotation under serve --workers 2", () => {
  let stack: Stack;
  let secret: SecretDir;
  const client = () => ({ cert: pki.clients.envoy!.certPem, key: pki.clients.envoy!.keyPem });
  beforeAll(async () => {
    secret = await serverSecret("secret-workers");
    stack = await tlsStack("net", secret, true, ["--workers", "2"]);
  });
  afterAll(() => stack?.close());

  it("presents the new certificate on every new connection, whichever worker the kernel hands it to", async () => {
    const after = new X509Certificate(renewed.server.certPem).serialNumber;
    await secret.update({ "tls.crt": renewed.server.certPem, "tls.key": renewed.server.keyPem, "ca.crt": pki.caPem });
    // Both workers reloaded: the supervisor's /metrics sums them.
    expect(
      await waitUntil(async () => (await stack.metric("portcullis_tls_reloads_total", { result: "ok" })) === 2, 10_000),
    ).toBe(true);
    const serials = [];
    for (let i = 0; i < 12; i += 1) {
      serials.push(
        await servedCertificateSerial({
          port: stack.portcullisGrpcPort,
          ca: pki.caPem + renewed.caPem,
          client: client(),
        }),
      );
    }
    expect(new Set(serials)).toEqual(new Set([after]));
    const token = await stack.signToken();
    expect((await stack.request("/api/things", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});

describe("the shipped central-mode Envoy config (envoy/replicas.yaml) over TLS", () => {
  let stack: ReplicaStack;
  beforeAll(async () => {
    const envoy = pki.clients.envoy!;
    stack = await startReplicaStack({
      replicas: 2,
      config: { shutdown: { graceSeconds: 2, drainSeconds: 0 } },
      portcullisTls: {
        server: pki.server,
        clientCaFile: pki.caFile,
        envoy: { caFile: pki.caFile, certFile: envoy.certFile, keyFile: envoy.keyFile },
      },
    });
  }, 120_000);
  afterAll(() => stack?.close());

  it("keeps every replica healthy in both clusters (gRPC health over TLS, /readyz on the plaintext admin port)", async () => {
    for (const replica of stack.replicas) {
      expect((await stack.envoyHost(replica)).healthy).toBe(true);
      expect((await stack.envoyHost(replica, "portcullis_auth")).healthy).toBe(true);
    }
  });

  it("decides checks and answers /oauth2/* over TLS", async () => {
    const token = await stack.idp().clientCredentialsToken();
    expect((await stack.request("/api/orders", { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await stack.request("/api/orders")).status).toBe(401);
    expect((await stack.request("/oauth2/callback")).status).toBe(404);
  });
});
