// The Portcullis of the mTLS route: a second `serve` process with the bench's config plus listen.tls
// (a client certificate required), and the files Envoy needs to reach it as central mode ships it.
// The PKI is made for this run in its temporary directory (a CA, a server certificate for localhost,
// Envoy's client certificate), with the openssl CLI, as the mTLS tests make theirs.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createTestPki } from "../test/harness/createTestPki.ts";
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import type { UpstreamTlsFiles } from "./shippedUpstreamTls.ts";
import { startPortcullis, type PortcullisBenchSetup, type RunningPortcullis } from "./startPortcullis.ts";

export interface RunningPortcullisOverMtls {
  readonly portcullis: RunningPortcullis;
  /** Envoy's side: the CA to check Portcullis's certificate, the name in it, Envoy's own certificate. */
  readonly envoyTls: UpstreamTlsFiles;
}

/** The server certificate's DNS SAN (createTestPki issues it for localhost and 127.0.0.1). */
const SERVER_NAME = "localhost";

export async function startPortcullisOverMtls(
  group: ChildProcessGroup,
  repoRoot: string,
  workDir: string,
  setup: PortcullisBenchSetup,
): Promise<RunningPortcullisOverMtls> {
  const pkiDir = join(workDir, "pki");
  mkdirSync(pkiDir, { mode: 0o700 });
  const pki = await createTestPki(pkiDir, { envoy: { subject: "/O=Portcullis bench/CN=envoy" } });
  const envoy = pki.clients["envoy"]!;
  const portcullis = await startPortcullis(
    group,
    repoRoot,
    workDir,
    { ...setup, tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, clientCaFile: pki.caFile } },
    "portcullis-mtls",
  );
  return {
    portcullis,
    envoyTls: { caFile: pki.caFile, serverName: SERVER_NAME, certFile: envoy.certFile, keyFile: envoy.keyFile },
  };
}
