// boundedFetch over node:http(s), as discovery and key-set loads use it with the process's own
// fetch: the answers and log-safe messages fetch gave (status, no redirect followed, body cap
// declared or counted, UTF-8, a timeout spanning connect to last byte, connection errors by code,
// TLS verified). That a serve process then never loads undici: test/e2e/serveLoadsOnlyConfigured.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { boundedFetch, BoundedFetchError, MAX_IDP_RESPONSE_BYTES } from "../../src/oidc/boundedFetch.ts";
import { reservePort } from "../harness/reservePort.ts";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function serve(handler: RequestListener, server: Server = createServer(handler)): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function get(url: string, timeoutMs = 2000): Promise<string> {
  return boundedFetch(fetch, url, { signal: AbortSignal.timeout(timeoutMs), timeoutMs, accept: "application/json" });
}

async function failure(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BoundedFetchError);
  return (err as Error).message;
}

describe("boundedFetch over node:http", () => {
  it("answers a 200's body and sends the accept header", async () => {
    let accept: string | undefined;
    const port = await serve((req, res) => {
      accept = req.headers.accept;
      res.end('{"ok":true}');
    });
    expect(await get(`http://127.0.0.1:${port}/doc`)).toBe('{"ok":true}');
    expect(accept).toBe("application/json");
  });

  it("does not follow a redirect and names the status without the query string", async () => {
    const paths: string[] = [];
    const port = await serve((req, res) => {
      paths.push(req.url ?? "");
      res.writeHead(302, { location: "/elsewhere" }).end();
    });
    expect(await failure(get(`http://127.0.0.1:${port}/doc?secret=s3cr3t`))).toBe(
      `GET http://127.0.0.1:${port}/doc answered HTTP 302`,
    );
    expect(paths).toEqual(["/doc?secret=s3cr3t"]);
  });

  it("refuses a body over the cap, declared or counted", async () => {
    const declared = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(MAX_IDP_RESPONSE_BYTES + 1) });
      res.write("x");
    });
    expect(await failure(get(`http://127.0.0.1:${declared}/`))).toMatch(/response body larger than 1048576 bytes$/);
    const chunked = await serve((_req, res) => {
      res.write(Buffer.alloc(MAX_IDP_RESPONSE_BYTES, 0x61));
      res.end("b");
    });
    expect(await failure(get(`http://127.0.0.1:${chunked}/`))).toMatch(/response body larger than 1048576 bytes$/);
  });

  it("refuses a body that is not UTF-8", async () => {
    const port = await serve((_req, res) => res.end(Buffer.from([0xff, 0xfe, 0x00])));
    expect(await failure(get(`http://127.0.0.1:${port}/`))).toMatch(/returned a body that is not UTF-8$/);
  });

  it("times out a body that stops coming, not only a server that never answers", async () => {
    const stalls = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("{");
    });
    expect(await failure(get(`http://127.0.0.1:${stalls}/`, 300))).toBe(
      `GET http://127.0.0.1:${stalls}/ timed out after 300 ms`,
    );
    const silent = await serve(() => undefined);
    expect(await failure(get(`http://127.0.0.1:${silent}/`, 300))).toMatch(/timed out after 300 ms$/);
  });

  it("names a refused connection by its code", async () => {
    const closed = await reservePort();
    await closed.release();
    expect(await failure(get(`http://127.0.0.1:${closed.port}/`))).toBe(
      `GET http://127.0.0.1:${closed.port}/ failed to connect (ECONNREFUSED)`,
    );
  });

  it("refuses a URL carrying credentials, as fetch does, without quoting them", async () => {
    const message = await failure(get("http://user:pw@127.0.0.1:9/doc"));
    expect(message).not.toContain("pw");
  });

  it("verifies TLS: a certificate no trusted authority signed is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "portcullis-tls-"));
    try {
      const made = spawnSync("openssl", [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
        ...["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      ]);
      expect(made.status).toBe(0);
      const server = createTlsServer(
        { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
        (_req, res) => res.end("{}"),
      );
      const port = await serve(() => undefined, server);
      expect(await failure(get(`https://127.0.0.1:${port}/`))).toMatch(
        /^GET https:\/\/127\.0\.0\.1:\d+\/ failed to connect \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
