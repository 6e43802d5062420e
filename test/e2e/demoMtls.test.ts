// The demo's mTLS entry as a user tries it, through the demo's real Envoy: the demo machine gets in
// by its certificate's SPIFFE ID alone, a token from `demo token --bound-to-cert` passes with that
// certificate and is refused without it, a plain bearer token is refused where bound tokens are
// demanded, and a certificate from another CA (or none) never gets past the TLS handshake.

import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MACHINE_CLIENT_ID, DEMO_MACHINE_SPIFFE_ID } from "../../src/demo/demoConfig.ts";
import { startDemo } from "../../src/demo/startDemo.ts";
import type { RunningDemo } from "../../src/demo/startDemo.ts";
import { createTempScope } from "../harness/createTempScope.ts";
import type { TempScope } from "../harness/createTempScope.ts";
import { createTestPki } from "../harness/createTestPki.ts";
import type { TestPki } from "../harness/createTestPki.ts";
import { httpsRequest } from "../harness/httpsRequest.ts";
import type { HttpsResponse } from "../harness/httpsRequest.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const EPHEMERAL = { https: 0, mtls: 0, idp: 0, upstream: 0, grpc: 0, auth: 0, admin: 0 };

let scope: TempScope;
let demo: RunningDemo;
let serverCa: string;
let machine: { cert: string; key: string };
/** A client certificate the demo's CA never signed, with the demo machine's SPIFFE ID all the same. */
let stranger: TestPki;

beforeAll(async () => {
  scope = await createTempScope("portcullis-demo-mtls-");
  demo = await startDemo({ dir: scope.dir, ports: EPHEMERAL });
  scope.defer(() => demo.stop());
  serverCa = await readFile(demo.mtls.serverCertFile, "utf8");
  machine = {
    cert: await readFile(demo.mtls.clientCertFile, "utf8"),
    key: await readFile(demo.mtls.clientKeyFile, "utf8"),
  };
  stranger = await createTestPki(scope.dir, {
    impostor: { subject: "/O=Portcullis demo/CN=billing", altNames: [`URI:${DEMO_MACHINE_SPIFFE_ID}`] },
  });
  const ready = await waitUntil(async () => {
    const res = await fetch(`${demo.adminUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  }, 30_000);
  if (!ready) throw new Error(`the demo's Portcullis was not ready within 30 s (${demo.adminUrl}/readyz)`);
}, 120_000);

afterAll(async () => {
  await scope?.close();
});

/** `portcullis demo token ARGS` against this demo, as the banner's curl commands run it. */
async function demoToken(args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", MAIN, "demo", "token", ...args],
    { env: { ...process.env, PORTCULLIS_DEMO_DIR: scope.dir }, timeout: 20_000 },
  );
  return stdout.trim().split("\n").at(-1) as string;
}

type Client = { cert: string; key: string } | null;

/** A request to the mTLS entry with `client`'s certificate, or (`entry: "https"`) to the plain one. */
function send(path: string, options: { token?: string; client?: Client; entry?: "https" | "mtls" } = {}) {
  const entry = options.entry ?? "mtls";
  const client = options.client === undefined ? machine : options.client;
  return httpsRequest({
    port: Number(new URL(entry === "mtls" ? demo.mtls.entryUrl : demo.entryUrl).port),
    path,
    ca: serverCa,
    headers: {
      "x-client-id": "admin",
      "x-user-sub": "root",
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    },
    ...(client === null || entry === "https" ? {} : { clientCertificate: client }),
  });
}

const echoed = (res: HttpsResponse, header: string) =>
  (res.json as { headers?: Record<string, unknown> } | undefined)?.headers?.[header];
const errorCode = (res: HttpsResponse) => (res.json as { error?: unknown } | undefined)?.error;

describe("the demo machine on the mTLS entry", () => {
  it("gets in without a token by its certificate's SPIFFE ID, as x-client-id billing, with a verified assertion", async () => {
    const res = await send("/machines/invoices");
    expect(res.status).toBe(200);
    expect(echoed(res, "x-client-id")).toBe(DEMO_MACHINE_CLIENT_ID);
    expect(echoed(res, "x-user-sub")).toBeUndefined();
    expect(res.json).toMatchObject({ assertion: { verified: true, claims: { client_id: DEMO_MACHINE_CLIENT_ID } } });
  });

  it("is asked for a token on the plain entry, where it presents no certificate", async () => {
    const res = await send("/machines/invoices", { entry: "https" });
    expect(res.status).toBe(401);
    expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer\b/);
  });
});

describe("a token from `demo token --bound-to-cert`", () => {
  let bound: string;
  beforeAll(async () => {
    bound = await demoToken(["--user", "alice", "--bound-to-cert"]);
  });

  it("names the demo machine's certificate in cnf x5t#S256", () => {
    const payload = JSON.parse(Buffer.from(bound.split(".")[1] as string, "base64url").toString("utf8"));
    const thumbprint = createHash("sha256").update(new X509Certificate(machine.cert).raw).digest("base64url");
    expect(payload.cnf).toEqual({ "x5t#S256": thumbprint });
  });

  it("is let through with that certificate where bound tokens are demanded, as alice", async () => {
    const res = await send("/bound/reports", { token: bound });
    expect(res.status).toBe(200);
    expect(echoed(res, "x-user-sub")).toBe("alice");
    expect(echoed(res, "x-client-id")).not.toBe("admin");
  });

  it("is refused with 401 on the plain entry, without the certificate", async () => {
    for (const path of ["/bound/reports", "/api/reports"]) {
      const res = await send(path, { token: bound, entry: "https" });
      expect(res.status).toBe(401);
      expect(errorCode(res)).toBe("type_not_allowed");
      expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer\b.*error="invalid_token"/);
    }
  });
});

describe("a route that demands certificate-bound tokens", () => {
  it("refuses a plain bearer token, even with the demo machine's certificate, with 401 bound_token_required", async () => {
    const res = await send("/bound/reports", { token: await demoToken(["--user", "alice"]) });
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe("bound_token_required");
    expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer\b.*error="invalid_token"/);
  });
});

describe("the demo's client certificates", () => {
  it("keep the machine's key readable by the owner only, and no CA key that could issue another", async () => {
    expect((await stat(demo.mtls.clientKeyFile)).mode & 0o077).toBe(0);
    expect((await readdir(dirname(demo.mtls.clientCaFile))).sort()).toEqual(["ca.crt", "client.crt", "client.key"]);
  });
});

describe("the mTLS entry's TLS handshake", () => {
  it("refuses a client certificate from another CA (TLS alert unknown_ca), even one with the demo machine's SPIFFE ID", async () => {
    const impostor = stranger.clients["impostor"]!;
    await expect(
      send("/machines/invoices", { client: { cert: impostor.certPem, key: impostor.keyPem } }),
    ).rejects.toThrow(/alert unknown ca/);
  });

  it("refuses a client without a certificate (TLS alert certificate_required)", async () => {
    await expect(send("/machines/invoices", { client: null })).rejects.toThrow(/alert certificate required/);
  });
});
