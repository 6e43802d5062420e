// The logger's redaction (a second line of defence): every field that could carry a credential is
// censored wherever the old pino redact paths reached it (a field of the line, or a field of any
// object field: headers.cookie, session.token, an Error's token), child bindings included, and a
// line without such a field (a denial) is written as it was given, without being copied.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/createLogger.ts";
import { redactLogFields } from "../../src/observability/redactLogFields.ts";

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, any>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const logger = createLogger("info", sink as never);
  return {
    logger,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, any>),
  };
}

describe("log redaction", () => {
  it("censors credential fields of the line and of its object fields", async () => {
    const { logger, lines } = capture();
    const err = Object.assign(new Error("refresh failed"), { token: "rt-secret" });
    logger.info(
      {
        authorization: "Bearer a.b.c",
        cookie: "__Host-portcullis=sealed",
        token: "t-secret",
        clientSecret: "cs",
        secret: "s",
        headers: { authorization: "Bearer x", cookie: "c=1", "proxy-authorization": "Basic y", accept: "*/*" },
        session: { token: "st", clientSecret: "cs2", sub: "alice" },
        err,
        route: "api",
      },
      "everything",
    );
    await new Promise((resolve) => setImmediate(resolve));
    const [line] = lines();
    expect(line).toMatchObject({
      authorization: "[redacted]",
      cookie: "[redacted]",
      token: "[redacted]",
      clientSecret: "[redacted]",
      secret: "[redacted]",
      headers: {
        authorization: "[redacted]",
        cookie: "[redacted]",
        "proxy-authorization": "[redacted]",
        accept: "*/*",
      },
      session: { token: "[redacted]", clientSecret: "[redacted]", sub: "alice" },
      err: { message: "refresh failed", token: "[redacted]" },
      route: "api",
      msg: "everything",
    });
    expect(JSON.stringify(line)).not.toMatch(/a\.b\.c|sealed|t-secret|rt-secret|Basic y|"cs"|"st"/);
    // The caller's objects are not changed.
    expect(err.token).toBe("rt-secret");
  });

  it("censors child bindings too", async () => {
    const { logger, lines } = capture();
    logger.child({ token: "bound-secret", worker: 1 }).info("bound");
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines()[0]).toMatchObject({ token: "[redacted]", worker: 1, msg: "bound" });
  });

  it("hands a denial line through as it is, without a copy", () => {
    const denial = {
      requestId: "r-1",
      route: "api",
      code: "token_invalid",
      status: 401,
      provider: "corp",
      detail: "signature verification failed",
      method: "GET",
      host: "app.example.com",
    };
    expect(redactLogFields(denial)).toBe(denial);
  });
});
