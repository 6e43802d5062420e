// A self-signed TLS certificate for localhost (SAN localhost, 127.0.0.1, ::1), made with the
// openssl CLI on first use and reused while it is valid for at least another day. Demo and
// tests only: browsers and curl need -k / an explicit CA to trust it.

import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const DAY_MS = 86_400_000;

export interface DemoCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM of the certificate, to trust it as a CA in test clients. */
  readonly certPem: string;
}

export async function ensureDemoCertificate(dir: string): Promise<DemoCertificate> {
  const certFile = join(dir, "localhost.crt");
  const keyFile = join(dir, "localhost.key");
  const existing = await readValid(certFile, keyFile);
  if (existing !== undefined) return { certFile, keyFile, certPem: existing };

  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Write under temporary names and rename, so a concurrent run never sees half a key pair.
  const suffix = `${process.pid}.${Date.now()}`;
  const tmpCert = `${certFile}.${suffix}`;
  const tmpKey = `${keyFile}.${suffix}`;
  try {
    await run(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        tmpKey,
        "-out",
        tmpCert,
        "-days",
        "365",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,digitalSignature,keyCertSign",
        "-addext",
        "extendedKeyUsage=serverAuth",
      ],
      { timeout: 30_000 },
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT"
        ? "the openssl command is needed to create the demo TLS certificate; install openssl"
        : `openssl failed: ${(error as Error).message}`,
    );
  }
  await chmod(tmpKey, 0o600);
  await rename(tmpKey, keyFile);
  await rename(tmpCert, certFile);
  return { certFile, keyFile, certPem: await readFile(certFile, "utf8") };
}

async function readValid(certFile: string, keyFile: string): Promise<string | undefined> {
  try {
    const [pem] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile)]);
    const cert = new X509Certificate(pem);
    const validFor = Date.parse(cert.validTo) - Date.now();
    if (validFor < DAY_MS || !cert.checkHost("localhost") || !cert.checkIP("127.0.0.1")) return undefined;
    return pem;
  } catch {
    return undefined;
  }
}
