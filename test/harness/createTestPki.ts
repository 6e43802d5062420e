// A throwaway PKI for mTLS tests, made with the openssl CLI at test time in a directory of the test's
// own: a CA, a server certificate for localhost and client certificates with the SANs asked for,
// each with its RFC 8705 thumbprint (base64url SHA-256 of the DER) as a cnf["x5t#S256"] names it.
import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** base64url SHA-256 of the DER: what cnf["x5t#S256"] names for this certificate. */
  readonly thumbprint: string;
}

export interface TestClientSpec {
  /** The subject, in openssl's -subj form (`/O=Example/CN=billing`). */
  readonly subject: string;
  /** subjectAltName entries in openssl's form (`URI:spiffe://example.org/billing`, `DNS:billing.internal`). */
  readonly altNames?: readonly string[];
}

export interface TestPki {
  readonly caFile: string;
  readonly caPem: string;
  /** For localhost and 127.0.0.1. */
  readonly server: TestCertificate;
  readonly clients: Readonly<Record<string, TestCertificate>>;
}

async function openssl(args: readonly string[]): Promise<void> {
  await run("openssl", [...args], { timeout: 30_000 });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function issue(
  dir: string,
  name: string,
  ca: { certFile: string; keyFile: string },
  subject: string,
  extensions: readonly string[],
): Promise<TestCertificate> {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, `[ext]\n${extensions.join("\n")}\n`);
  await openssl(["req", "-new", ...EC_KEY, "-keyout", keyFile, "-out", csrFile, "-subj", subject]);
  await openssl([
    ...["x509", "-req", "-in", csrFile, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-days", "2"],
    ...[
      "-set_serial",
      `0x${createHash("sha256").update(`${name}${Date.now()}${Math.random()}`).digest("hex").slice(0, 16)}`,
    ],
    ...["-extfile", extFile, "-extensions", "ext", "-out", certFile],
  ]);
  const certPem = await readFile(certFile, "utf8");
  const thumbprint = createHash("sha256").update(new X509Certificate(certPem).raw).digest("base64url");
  return { certFile, keyFile, certPem, keyPem: await readFile(keyFile, "utf8"), thumbprint };
}

export async function createTestPki(dir: string, clients: Readonly<Record<string, TestClientSpec>>): Promise<TestPki> {
  const caFile = join(dir, "ca.crt");
  const caKey = join(dir, "ca.key");
  await openssl([
    ...["req", "-x509", ...EC_KEY, "-keyout", caKey, "-out", caFile, "-days", "2"],
    ...["-subj", "/O=Portcullis tests/CN=Test CA"],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  const ca = { certFile: caFile, keyFile: caKey };
  const server = await issue(dir, "server", ca, "/CN=localhost", [
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "extendedKeyUsage=serverAuth",
  ]);
  const issued: Record<string, TestCertificate> = {};
  for (const [name, spec] of Object.entries(clients))
    issued[name] = await issue(dir, `client-${name}`, ca, spec.subject, [
      ...(spec.altNames !== undefined && spec.altNames.length > 0 ? [`subjectAltName=${spec.altNames.join(",")}`] : []),
      "extendedKeyUsage=clientAuth",
    ]);
  return { caFile, caPem: await readFile(caFile, "utf8"), server, clients: issued };
}
