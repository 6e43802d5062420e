// `listen.tls`: its cross-field rules, the files read and checked by check-config (unreadable, not a
// pair, not PEM) with key paths and without quoting a file, a certificate outside its validity as a
// warning, and a reload that tries to change the settings refused.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCheckedConfig } from "../../src/app/loadCheckedConfig.ts";
import { loadListenerTls } from "../../src/app/loadListenerTls.ts";
import { reloadProblems } from "../../src/app/reloadProblems.ts";
import { summarizeConfig } from "../../src/app/summarizeConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { ConfigResult } from "../../src/config/ConfigResult.ts";
import { createTempScope, type TempScope } from "../harness/createTempScope.ts";
import { createTestPki, type TestPki } from "../harness/createTestPki.ts";

let scope: TempScope;
let pki: TestPki;
let other: TestPki;
let count = 0;

beforeAll(async () => {
  scope = await createTempScope("portcullis-tls-config-");
  for (const name of ["a", "b"]) await mkdir(join(scope.dir, name));
  pki = await createTestPki(join(scope.dir, "a"), {});
  other = await createTestPki(join(scope.dir, "b"), {});
});
afterAll(() => scope?.close());

async function load(tls: string, extraListen = ""): Promise<ConfigResult> {
  count += 1;
  const file = join(scope.dir, `config-${count}.yaml`);
  await writeFile(
    file,
    `listen:\n${extraListen}  tls:\n${tls}\nproviders:\n  demo:\n    issuer: https://idp.example.com\n    audiences: [api]\nroutes:\n  - name: api\n    match: { path: /api }\n    auth: required\n`,
  );
  return loadCheckedConfig(file, {});
}
const problems = (result: ConfigResult): string[] => (result.ok ? [] : result.problems.map(formatIssue));

describe("listen.tls", () => {
  it("is off by default, and on with a readable certificate and its key", async () => {
    const off = await load("    minVersion: TLSv1.2");
    expect(off.ok && off.config.listen.tls.certFile).toBe(null);
    const on = await load(
      `    certFile: ${pki.server.certFile}\n    keyFile: ${pki.server.keyFile}\n    clientCaFile: ${pki.caFile}`,
    );
    expect(problems(on)).toEqual([]);
    expect(on.ok && on.config.listen.tls).toMatchObject({ requireClientCertificate: true, minVersion: "TLSv1.2" });
    expect(on.ok && summarizeConfig("portcullis.yaml", on.config)).toContain(
      `tls: on for grpc and auth (${pki.server.certFile}, TLSv1.2+, client certificate required (CA ${pki.caFile}); files watched, reloaded without a restart)`,
    );
  });

  it("warns that requireClientCertificate false holds no client to a certificate", async () => {
    const tls = `    certFile: ${pki.server.certFile}\n    keyFile: ${pki.server.keyFile}\n    clientCaFile: ${pki.caFile}`;
    const loose = await load(`${tls}\n    requireClientCertificate: false`);
    expect(problems(loose)).toEqual([]);
    expect(loose.warnings.map(formatIssue)).toContainEqual(
      expect.stringMatching(/^listen\.tls\.requireClientCertificate: false lets any client in/),
    );
    const strict = await load(tls);
    expect(strict.warnings.map(formatIssue).filter((w) => w.startsWith("listen.tls"))).toEqual([]);
  });

  it("needs the key with the certificate, and TLS for a client CA", async () => {
    expect(problems(await load(`    certFile: ${pki.server.certFile}`))).toEqual([
      "listen.tls.keyFile: is required with certFile: the PEM private key of its certificate",
    ]);
    expect(problems(await load(`    clientCaFile: ${pki.caFile}`))).toEqual([
      "listen.tls.clientCaFile: client certificates are verified only over TLS: set certFile and keyFile too, or remove clientCaFile",
    ]);
  });

  it("refuses TLSv1.3 as the minimum on grpc-js, which cannot enforce it", async () => {
    const files = `    certFile: ${pki.server.certFile}\n    keyFile: ${pki.server.keyFile}\n    minVersion: TLSv1.3`;
    expect(problems(await load(files, "  grpcTransport: grpc-js\n"))).toEqual([
      expect.stringMatching(/^listen\.tls\.minVersion: TLSv1\.3 cannot be enforced by listen\.grpcTransport grpc-js/),
    ]);
    expect(problems(await load(files, "  grpcTransport: net\n"))).toEqual([]);
  });

  it("reports an unreadable file at its key path", async () => {
    const missing = join(scope.dir, "missing.crt");
    expect(problems(await load(`    certFile: ${missing}\n    keyFile: ${pki.server.keyFile}`))).toEqual([
      `listen.tls.certFile: cannot read ${missing} (ENOENT): mount the TLS Secret there, readable by Portcullis`,
    ]);
  });

  it("refuses a key that is not the certificate's, without quoting either file", async () => {
    const result = await load(`    certFile: ${pki.server.certFile}\n    keyFile: ${other.server.keyFile}`);
    expect(problems(result)).toEqual([
      `listen.tls.keyFile: is not the private key of the certificate in ${pki.server.certFile}: use the pair issued together`,
    ]);
    expect(JSON.stringify(result)).not.toContain("PRIVATE KEY");
  });

  it("refuses files that hold no certificate or no key", async () => {
    const result = await load(
      `    certFile: ${pki.server.keyFile}\n    keyFile: ${pki.server.certFile}\n    clientCaFile: ${pki.server.keyFile}`,
    );
    expect(problems(result)).toEqual([
      "listen.tls.certFile: holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
      expect.stringMatching(/^listen\.tls\.keyFile: holds no unencrypted PEM private key/),
      "listen.tls.clientCaFile: holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
    ]);
  });

  it("warns about a certificate that has expired or is not valid yet, and still loads it", () => {
    const files = {
      certFile: pki.server.certFile,
      keyFile: pki.server.keyFile,
      clientCaFile: null,
      minVersion: "TLSv1.2",
    } as const;
    const later = loadListenerTls(files, Date.now() + 30 * 86_400_000);
    expect(later.ok && later.tls.warnings.map((w) => `${w.key}: ${w.message}`)).toEqual([
      expect.stringMatching(/^certFile: the certificate in .* expired on \d{4}-.*: clients will refuse it$/),
    ]);
    const earlier = loadListenerTls(files, Date.now() - 30 * 86_400_000);
    expect(earlier.ok && earlier.tls.warnings[0]?.message).toMatch(/is not valid before/);
    const now = loadListenerTls(files, Date.now());
    expect(now.ok && now.tls.warnings).toEqual([]);
  });

  it("cannot be changed by a reload (the files' contents can)", async () => {
    const before = await load(`    certFile: ${pki.server.certFile}\n    keyFile: ${pki.server.keyFile}`);
    const after = await load(`    certFile: ${other.server.certFile}\n    keyFile: ${other.server.keyFile}`);
    if (!before.ok || !after.ok) throw new Error("both configs load");
    expect(reloadProblems(before.config, after.config).map((p) => p.path)).toEqual(["listen.tls"]);
    expect(reloadProblems(before.config, before.config)).toEqual([]);
  });
});
