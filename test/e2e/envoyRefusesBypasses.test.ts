// Through the real demo Envoy (envoy/demo.yaml as shipped): Envoy itself answers 400 to the path
// shapes and Hosts Portcullis refuses, also on /oauth2/ where Portcullis is not asked; the headers
// that steer an upstream and a session cookie sent in a second Cookie header never reach the echo
// upstream; and one request's x-request-id is the same in Envoy's access log, Portcullis's decision
// log line and the upstream's request, so the logs join.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ login: true, config: { log: { level: "info", audit: true } } });
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

interface RawAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * One HTTP/1.1 request over TLS with the exact request-target and header lines given (repeated
 * names stay separate lines, which Node's client would fold), on a connection closed after it.
 */
function sendRaw(target: string, headers: ReadonlyArray<readonly [string, string]>): Promise<RawAnswer> {
  const head = [
    `GET ${target} HTTP/1.1`,
    ...headers.map(([n, v]) => `${n}: ${v}`),
    "Accept: application/json",
    "Connection: close",
    "",
    "",
  ].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: stack.envoyPort, servername: "localhost", ca: stack.ca }, () =>
      socket.write(head, "latin1"),
    );
    let data = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to GET ${target}`)));
    socket.on("error", reject);
    // Done at the end of the body (Envoy sends a content-length on every answer here) or at close:
    // Envoy waits for the client to close first, up to a second, after a Connection: close answer.
    const finish = () => {
      const text = data.toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
      socket.destroy();
    };
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const headEnd = data.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: *(\d+)/i.exec(data.subarray(0, Math.max(headEnd, 0)).toString("latin1"))?.[1];
      if (headEnd !== -1 && length !== undefined && data.length >= headEnd + 4 + Number(length)) finish();
    });
    socket.on("close", finish);
  });
}

const errorOf = (answer: RawAnswer): string | undefined => {
  try {
    return (JSON.parse(answer.body) as { error?: string }).error;
  } catch {
    return `not JSON: ${answer.body.slice(0, 80)}`;
  }
};

const withHost = (target: string, host = "localhost") => sendRaw(target, [["Host", host]]);

interface AccessLine {
  readonly request_id?: string;
  readonly path?: string;
  readonly route?: string | null;
  readonly details?: string;
  readonly upstream?: string | null;
  readonly status?: number;
}

async function jsonLines<T>(file: string): Promise<T[]> {
  const text = await readFile(join(stack.dir, file), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as T);
}

/** Envoy's access-log line for a path (logged without its query); Envoy flushes its access log about every 10 s. */
async function accessLineFor(path: string): Promise<AccessLine> {
  let found: AccessLine | undefined;
  await waitUntil(async () => {
    found = (await jsonLines<AccessLine>("envoy.log")).find((l) => l.path === path);
    return found !== undefined;
  }, 30_000);
  if (found === undefined) throw new Error(`no access-log line for ${path}`);
  return found;
}

const nonce = () => Math.random().toString(36).slice(2, 10);

describe("the demo Envoy refuses what Portcullis refuses, by itself", () => {
  it("answers 400 path_invalid to ;-parameters, %25 and trailing dots, on /oauth2/ too, and forwards none of them", async () => {
    const n = nonce();
    const paths = [
      `/admin;x/y-${n}`,
      `/%2561dmin/x-${n}`,
      `/admin./y-${n}`,
      `/oauth2/;x-${n}`,
      `/oauth2/callback%3bx-${n}`,
      `/public/a%20/b-${n}`,
      `/oauth2/%c0%ae-${n}`,
      `/public/%e2%82-${n}`,
    ];
    const before = stack.upstream.requests().length;
    for (const path of paths) {
      const answer = await withHost(path);
      expect({ path, status: answer.status, error: errorOf(answer) }).toEqual({
        path,
        status: 400,
        error: "path_invalid",
      });
    }
    // Envoy's own answer (its direct response, no cluster), not Portcullis's through ext_authz.
    for (const path of paths) {
      const line = await accessLineFor(path);
      expect({ path, route: line.route, details: line.details, upstream: line.upstream }).toEqual({
        path,
        route: expect.stringMatching(/^path_(encoding_)?invalid$/),
        details: "direct_response",
        upstream: null,
      });
    }
    expect(
      stack.upstream
        .requests()
        .slice(before)
        .filter((r) => r.path.includes(n)),
    ).toEqual([]);
  });

  it("resolves //.. itself before any check, so Portcullis and the upstream both see the one reading", async () => {
    // Portcullis refuses an empty segment before '..' (Tomcat reads /public//../x as /x), which only
    // a proxy that does not normalise would hand it: Envoy resolves it first and forwards the result.
    const n = nonce();
    const answer = await withHost(`/public//../public/ok-${n}`);
    expect(answer.status).toBe(200);
    expect(
      stack.upstream
        .requests()
        .filter((r) => r.path.includes(n))
        .map((r) => r.path),
    ).toEqual([`/public/public/ok-${n}`]);
  });

  it("answers 400 host_invalid to Hosts that are not host[:port], on /oauth2/ too", async () => {
    for (const host of [
      "admin.example.com:443:80",
      "localhost@evil.example",
      "a,b",
      "localhost..",
      "localhost:",
      "localhost:123456",
      "localhost:0",
      "localhost:65536",
      "localhost:99999",
      "[::1",
      "::1",
      "a%41",
    ]) {
      for (const path of ["/public/x", "/oauth2/callback"]) {
        const answer = await withHost(path, host);
        expect({ host, path, status: answer.status, error: errorOf(answer) }).toEqual({
          host,
          path,
          status: 400,
          error: "host_invalid",
        });
      }
    }
    // The forms the contract allows still pass Envoy.
    for (const host of ["localhost", "LOCALHOST", "localhost.", `localhost:${stack.envoyPort}`, "127.0.0.1"]) {
      expect({ host, status: (await withHost("/public/ok", host)).status }).toEqual({ host, status: 200 });
    }
  });
});

describe("headers that steer the upstream", () => {
  it("never reach it, nor a session cookie sent in a second Cookie header", async () => {
    const n = nonce();
    const steering = [
      "X-Forwarded-Host",
      "X-Forwarded-Prefix",
      "Forwarded",
      "X-Original-URL",
      "X-Rewrite-URL",
      "X-HTTP-Method-Override",
      "X-Method-Override",
      "X-HTTP-Method",
    ];
    const answer = await sendRaw(`/public/steer-${n}`, [
      ["Host", "localhost"],
      ...steering.map(
        (name) => [name, name === "Forwarded" ? "host=admin.example.com;proto=https" : "/admin"] as const,
      ),
      ["Cookie", "theme=dark"],
      ["Cookie", "__Host-portcullis=forged-session"],
    ]);
    expect(answer.status).toBe(200);
    const received = stack.upstream.requests().find((r) => r.path === `/public/steer-${n}`);
    expect(received).toBeDefined();
    const names = Object.keys(received?.headers ?? {});
    expect(names.filter((name) => steering.some((s) => s.toLowerCase() === name))).toEqual([]);
    const cookie = received?.headers["cookie"];
    expect(JSON.stringify(cookie ?? "")).not.toContain("__Host-portcullis");
    expect(JSON.stringify(cookie ?? "")).toContain("theme=dark");
  });
});

describe("Envoy's access log", () => {
  it("carries the x-request-id that Portcullis logs as requestId and the upstream receives", async () => {
    const path = `/public/join-${nonce()}`;
    expect((await withHost(path)).status).toBe(200);
    const line = await accessLineFor(path);
    expect(line).toMatchObject({
      status: 200,
      upstream: "upstream",
      request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const id = line.request_id as string;
    expect(stack.upstream.requests().find((r) => r.path === path)?.headers["x-request-id"]).toBe(id);
    let decision: { requestId?: string; route?: string; decision?: string } | undefined;
    await waitUntil(async () => {
      decision = (
        await jsonLines<{ audit?: boolean; requestId?: string; route?: string; decision?: string }>("portcullis.log")
      ).find((l) => l.audit === true && l.requestId === id);
      return decision !== undefined;
    }, 10_000);
    expect(decision).toMatchObject({ requestId: id, route: "public", decision: "allow" });
  });

  it("logs no query string: codes and tokens in a URL stay out of it", async () => {
    const path = `/oauth2/callback-${nonce()}`;
    await withHost(`${path}?code=secret-code-value&state=s`);
    const line = await accessLineFor(path);
    expect(JSON.stringify(line)).not.toContain("secret-code-value");
  });
});
