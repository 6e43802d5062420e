// The benchmark's mTLS route, set up as bench/run.ts sets it up, against real Envoy and a real
// `serve`: it passes the bench's sanity probe (200 with the token, 401 without, a TLS handshake
// counted by Envoy) beside the plaintext routes, and the Portcullis behind it refuses a client that
// presents no certificate, so the figure measured there is really Envoy → Portcullis over mTLS.
import { randomBytes } from "node:crypto";
import { connect } from "node:http2";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChildProcessGroup } from "../../bench/ChildProcessGroup.ts";
import { createBenchIdentity, type BenchIdentity } from "../../bench/createBenchIdentity.ts";
import type { Scenario } from "../../bench/measureRound.ts";
import { probeRoutes } from "../../bench/probeRoutes.ts";
import { readEnvoyClusterTls } from "../../bench/readEnvoyClusterTls.ts";
import { PORTCULLIS_MTLS_CLUSTER, renderEnvoyConfig } from "../../bench/renderEnvoyConfig.ts";
import { startEnvoy, type RunningEnvoy } from "../../bench/startEnvoy.ts";
import { startJwksServer, type JwksServer } from "../../bench/startJwksServer.ts";
import { startPortcullisOverMtls, type RunningPortcullisOverMtls } from "../../bench/startPortcullisOverMtls.ts";
import { createTempScope, type TempScope } from "../harness/createTempScope.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const bench = (file: string) => ["--disable-warning=ExperimentalWarning", join(REPO, "bench", file)];
const portLine = (line: string) => {
  const m = /^\{"port":(\d+)\}$/.exec(line);
  return m ? Number(m[1]) : undefined;
};

let scope: TempScope;
let jwks: JwksServer;
let identity: BenchIdentity;
let mtls: RunningPortcullisOverMtls;
let envoy: RunningEnvoy;
const group = new ChildProcessGroup(null);

beforeAll(async () => {
  scope = await createTempScope("portcullis-bench-mtls-");
  scope.defer(() => group.stopAll());
  jwks = await startJwksServer();
  scope.defer(() => jwks.close());
  identity = await createBenchIdentity(jwks.issuer, "bench-api");
  jwks.setJwks(identity.jwks);
  const upstreamPort = await group
    .spawn("upstream", process.execPath, bench("okUpstreamProcess.ts"))
    .waitForLine(portLine, 10_000);
  const noopCheckGrpcPort = await group
    .spawn("noop-check", process.execPath, bench("noopCheckServerProcess.ts"))
    .waitForLine(portLine, 10_000);
  const setup = { issuer: jwks.issuer, audience: "bench-api", sessionKey: randomBytes(32).toString("base64") };
  mtls = await startPortcullisOverMtls(group, REPO, scope.dir, setup);
  envoy = await startEnvoy(
    group,
    process.env.ENVOY_BIN!,
    scope.dir,
    renderEnvoyConfig({
      upstreamPort,
      noopCheckGrpcPort,
      noopGoCheckGrpcPort: null,
      oauth2ProxyPort: null,
      portcullisGrpcPort: null,
      portcullisMtls: { grpcPort: mtls.portcullis.grpcPort, tls: mtls.envoyTls },
      issuer: identity.issuer,
      audience: "bench-api",
      jwks: identity.jwks,
    }),
  );
}, 120_000);
afterAll(() => scope?.close());

describe("the benchmark's route to Portcullis over mTLS", () => {
  it("passes the bench's probe beside the plaintext routes, over a TLS handshake Envoy counted", async () => {
    const problems: string[] = [];
    const absent = new Set<Scenario>(["portcullis", "portcullisSession", "noopGoExtAuthz", "oauth2Proxy"]);
    const urls = await probeRoutes(
      { envoy, headersFor: () => ({ authorization: `Bearer ${identity.token}` }), absent },
      problems,
    );
    expect(problems).toEqual([]);
    expect([...urls.keys()].sort()).toEqual(["jwtAuthn", "noAuth", "noopExtAuthz", "portcullisMtls"]);
    const tls = await readEnvoyClusterTls(envoy.adminUrl, PORTCULLIS_MTLS_CLUSTER);
    expect(tls.handshakes).toBeGreaterThanOrEqual(1);
    expect(tls.connectionErrors).toBe(0);
    // The probe's two requests rode on the connection of that handshake.
    expect(tls.requests).toBeGreaterThanOrEqual(2);
  });

  it("is served by a Portcullis that refuses a TLS client without a certificate", async () => {
    const ca = readFileSync(mtls.envoyTls.caFile);
    const session = connect(`https://127.0.0.1:${mtls.portcullis.grpcPort}`, { ca, servername: "localhost" });
    const outcome = await new Promise<string>((resolve) => {
      session.on("error", (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
      const call = session.request({
        ":method": "POST",
        ":path": "/envoy.service.auth.v3.Authorization/Check",
        "content-type": "application/grpc",
      });
      call.on("error", (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
      call.on("response", (headers) => resolve(`answered ${String(headers[":status"])}`));
      call.end(Buffer.alloc(5));
      setTimeout(() => resolve("no answer within 5 s"), 5000).unref();
    });
    session.destroy();
    expect(outcome).toBe("refused: ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
  });
});
