// Through the real demo Envoy: a header name or a method with bytes past ASCII (KELVIN SIGN, which
// String.toLowerCase maps to an ASCII "k"; LONG S, which toUpperCase maps to "S") never reaches
// Portcullis or the upstream, so the Check wire decoder's refusal of them (a 503 denial) changes
// nothing Envoy sends.
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({});
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

/** One HTTP/1.1 request over TLS with these exact header lines, written as UTF-8; the status line's code. */
function sendRaw(target: string, headers: ReadonlyArray<readonly [string, string]>, method = "GET"): Promise<number> {
  const head = [
    `${method} ${target} HTTP/1.1`,
    ...headers.map(([n, v]) => `${n}: ${v}`),
    "Connection: close",
    "",
    "",
  ].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: stack.envoyPort, servername: "localhost", ca: stack.ca }, () =>
      socket.write(Buffer.from(head, "utf8")),
    );
    let data = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to GET ${target}`)));
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(data.toString("latin1"))?.[1];
      if (status !== undefined) {
        resolve(Number(status));
        socket.destroy();
      }
    });
    socket.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data.toString("latin1"))?.[1] ?? 0)));
  });
}

describe("header names and methods that are not ASCII through the demo Envoy", () => {
  it("are refused by Envoy with 400 before any check, on a public route too", async () => {
    const n = Math.random().toString(36).slice(2, 10);
    for (const name of ["Coo\u212Aie", "X-Api-\u212Aey", "X-N\u00e4me"]) {
      expect(
        await sendRaw(`/public/nonascii-${n}`, [
          ["Host", "localhost"],
          [name, "v"],
        ]),
      ).toBe(400);
    }
    expect(stack.upstream.requests().some((r) => r.path === `/public/nonascii-${n}`)).toBe(false);
    // The same request without that header passes: the route is public.
    expect(await sendRaw(`/public/nonascii-${n}`, [["Host", "localhost"]])).toBe(200);
  });

  it("refuses a method past ASCII with 400 before any check", async () => {
    const n = Math.random().toString(36).slice(2, 10);
    for (const method of ["PO\u017FT", "OPTION\u017F", "G\u00c9T"]) {
      expect(await sendRaw(`/public/method-${n}`, [["Host", "localhost"]], method)).toBe(400);
    }
    expect(stack.upstream.requests().some((r) => r.path === `/public/method-${n}`)).toBe(false);
  });
});
