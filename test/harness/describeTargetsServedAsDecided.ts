// Differential property of request-targets through a front proxy (nginx, Caddy, Envoy's
// http_service) as shipped: targets generated from dot segments (raw and escaped), empty segments,
// '#', '?', ';' and escaped slashes are sent by an anonymous client with raw bytes; the echo
// upstream reports what it got. Under the stack's routes (LOGIN_ROUTES) only /public is public, so
// whatever reaches the upstream must be a /public path as the upstream reads it: the path as
// received, a WHATWG URL parser's reading of it (`new URL(target, base)`: dot segments, '//' as a
// host, '#' as a fragment) and Express's prefix routing (`app.use("/api")` takes /api/../public).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRawHttpsPool, type RawHttpsPool } from "./createRawHttpsPool.ts";
import type { ForwardAuthStack } from "./startForwardAuthStack.ts";
import { envoyPropertyRuns } from "./propertyRuns.ts";
import { propertySeed } from "./propertySeed.ts";

const RUNS = envoyPropertyRuns(150);
const TIMEOUT_MS = Math.max(60_000, RUNS * 100);

const segment = fc.constantFrom(
  "public",
  "api",
  "x",
  ".",
  "..",
  "%2e",
  "%2E%2e",
  ".%2e",
  "",
  "a;b",
  "%2f",
  "a..b",
  "#",
  "x#",
  "?q",
);
const target = fc
  .array(segment, { minLength: 1, maxLength: 6 })
  .map((segments) => `/${segments.join("/")}`)
  .filter((t) => t.includes("public"));

/** The path part (before '?' or '#') of what the upstream received, and its readings. */
function readings(received: string): string[] {
  const path = received.split(/[?#]/, 1)[0] as string;
  return [path, new URL(received, "http://upstream.invalid").pathname];
}

const isPublic = (path: string) => path === "/public" || path.startsWith("/public/");

export function describeTargetsServedAsDecided(proxy: string, stack: () => ForwardAuthStack): void {
  describe(`request-targets through ${proxy}`, () => {
    let pool: RawHttpsPool;
    beforeAll(() => {
      pool = createRawHttpsPool({ port: stack().proxyPort, ca: stack().ca, connections: 2 });
    });
    afterAll(() => pool.close());

    it(
      "reach the upstream anonymously only as a /public path however the upstream reads them",
      async () => {
        let n = 0;
        const seed = propertySeed();
        await fc.assert(
          fc.asyncProperty(target, async (sent) => {
            const tag = `case-${proxy}-${seed}-${n++}`;
            await pool.send({ target: sent, host: `localhost:${stack().proxyPort}`, headers: { "x-case": tag } });
            const got = stack()
              .upstream.requests()
              .filter((r) => r.headers["x-case"] === tag);
            for (const { path } of got) {
              for (const reading of readings(path))
                expect(isPublic(reading), `${sent} → ${path} → ${reading}`).toBe(true);
            }
          }),
          { numRuns: RUNS, seed },
        );
      },
      TIMEOUT_MS,
    );
  });
}
