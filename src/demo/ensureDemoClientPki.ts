// The demo's client-certificate PKI for its mTLS listener: a CA of its own and one client
// certificate for the demo machine (its SPIFFE ID as the one URI SAN), made with the openssl CLI on
// first use in <demo dir>/mtls/ and reused while valid for at least another day. The CA's key is
// deleted once the client certificate is issued: nothing can issue another one that Envoy trusts.

import { execFile } from "node:child_process";
import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { DEMO_MACHINE_SPIFFE_ID } from "./demoConfig.ts";

const run = promisify(execFile);
const DAY_MS = 86_400_000;

export interface DemoClientPki {
  /** The CA Envoy's mTLS listener trusts for client certificates (and nothing else). */
  readonly caFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export async function ensureDemoClientPki(dir: string): Promise<DemoClientPki> {
  const pkiDir = join(dir, "mtls");
  const existing = await readValid(pkiDir);
  if (existing !== undefined) return existing;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Made in a directory of its own and renamed into place, so a concurrent demo never pairs one
  // run's CA with another run's client certificate.
  const staging = join(dir, `mtls.${process.pid}.${randomBytes(6).toString("hex")}`);
  try {
    await mkdir(staging, { mode: 0o700 });
    await issue(staging);
    return await moveIntoPlace(staging, pkiDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT"
        ? "the openssl command is needed to create the demo's client certificates; install openssl"
        : `could not create the demo's client certificates: ${(error as Error).message}`,
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Renames the new set into place; when a concurrent demo got there first with a usable set, that one
 * is kept (and ours dropped), so every demo ends up with the same CA and client certificate.
 */
async function moveIntoPlace(staging: string, pkiDir: string): Promise<DemoClientPki> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await rename(staging, pkiDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      const theirs = await readValid(pkiDir);
      if (theirs !== undefined) return theirs;
      // An expired or broken set from an earlier run: replaced.
      await rm(pkiDir, { recursive: true, force: true });
      continue;
    }
    const ours = await readValid(pkiDir);
    if (ours === undefined) break;
    return ours;
  }
  throw new Error(`the client certificates in ${pkiDir} are not usable`);
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function issue(dir: string): Promise<void> {
  const openssl = (args: string[]) => run("openssl", args, { timeout: 30_000 });
  const f = (name: string) => join(dir, name);
  await openssl([
    ...["req", "-x509", ...EC_KEY, "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "400"],
    ...["-subj", "/O=Portcullis demo/CN=Portcullis demo client CA"],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  await writeFile(
    f("client.ext"),
    [
      "[ext]",
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=clientAuth",
      `subjectAltName=URI:${DEMO_MACHINE_SPIFFE_ID}`,
      "",
    ].join("\n"),
  );
  await openssl(
    ["req", "-new", ...EC_KEY, "-keyout", f("client.key"), "-out", f("client.csr")].concat([
      "-subj",
      "/O=Portcullis demo/CN=billing",
    ]),
  );
  await openssl([
    ...["x509", "-req", "-in", f("client.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-days", "365"],
    ...["-set_serial", `0x${randomBytes(8).toString("hex")}`, "-extfile", f("client.ext"), "-extensions", "ext"],
    ...["-out", f("client.crt")],
  ]);
  await chmod(f("client.key"), 0o600);
  await Promise.all(["ca.key", "client.csr", "client.ext"].map((name) => rm(f(name), { force: true })));
}

async function readValid(dir: string): Promise<DemoClientPki | undefined> {
  const caFile = join(dir, "ca.crt");
  const clientCertFile = join(dir, "client.crt");
  const clientKeyFile = join(dir, "client.key");
  try {
    const [caPem, clientCertPem, clientKeyPem] = await Promise.all([
      readFile(caFile, "utf8"),
      readFile(clientCertFile, "utf8"),
      readFile(clientKeyFile, "utf8"),
    ]);
    const ca = new X509Certificate(caPem);
    const client = new X509Certificate(clientCertPem);
    const lasts = (cert: X509Certificate) => Date.parse(cert.validTo) - Date.now() >= DAY_MS;
    if (!lasts(ca) || !lasts(client) || !client.checkIssued(ca) || !client.verify(ca.publicKey)) return undefined;
    if (client.subjectAltName !== `URI:${DEMO_MACHINE_SPIFFE_ID}`) return undefined;
    if (!client.checkPrivateKey(createPrivateKey(clientKeyPem))) return undefined;
    return { caFile, clientCertFile, clientKeyFile };
  } catch {
    return undefined;
  }
}
