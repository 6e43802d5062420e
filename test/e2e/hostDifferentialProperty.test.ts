// Differential property test of authorities through the real Envoy (the shipped envoy/demo.yaml),
// Portcullis and an echo upstream that reports the Host it received. Authorities come from a grammar of
// ports, double ports, trailing dots, `@`, `,`, IPv6 with and without brackets, letter case,
// underscores and percent-escapes, sent as the HTTP/1.1 Host header (and sometimes as an absolute-form
// request-target with a different Host). Routes: `admin.example.com` needs the role admin, any other
// host is public. Property, for bob (no admin role): a request is refused (400/403/404), or no common
// upstream reading of the Host it received (Express's req.hostname, the part after `@`, either side
// of `,`, the WHATWG URL parser's hostname) names admin.example.com: the upstream never serves the
// admin site under the public rule's decision.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { createRawHttpsPool } from "../harness/createRawHttpsPool.ts";
import type { RawHttpsPool, RawResponse } from "../harness/createRawHttpsPool.ts";
import { envoyPropertyRuns } from "../harness/propertyRuns.ts";
import { propertySeed } from "../harness/propertySeed.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

const RUNS = envoyPropertyRuns(1500);
/** Cases sent side by side (one property run checks a batch), so the pool's connections stay busy. */
const BATCH = 8;
/** Generous per case on a loaded 2-core machine; a long bin/fuzz run gets time in proportion. */
const TIMEOUT_MS = Math.max(120_000, RUNS * 40);
const ADMIN_HOST = "admin.example.com";
const ROUTES = [
  { name: "admin-site", match: { host: ADMIN_HOST }, auth: "required", require: { roles: ["admin"] } },
  { name: "public", auth: "public" },
];

// --- The authority grammar --------------------------------------------------------------------

const caseVariant = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => (upper[i] === true ? c.toUpperCase() : c)).join(""));

const hostCore = fc.oneof(
  { weight: 8, arbitrary: caseVariant(ADMIN_HOST) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "admin.example.com",
      "admin_example.com",
      "admin.example_com",
      "admin%2eexample.com",
      "admin.example.com%2e",
      "%61dmin.example.com",
      "admin..example.com",
      ".admin.example.com",
      "admin.example.com.evil",
      "evil.admin.example.com",
      "xn--admin.example.com",
      "admın.example.com",
      "ａdmin.example.com",
    ),
  },
  { weight: 3, arbitrary: fc.constantFrom("other.test", "localhost", "127.0.0.1", "0x7f.1", "evil") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "[::1]",
      "::1",
      "[::ffff:127.0.0.1]",
      "::ffff:127.0.0.1",
      "[fe80::1%25eth0]",
      "[admin.example.com]",
      "[::1",
      "::1]",
      "[]",
      "",
    ),
  },
);
/** Nothing most of the time (so valid authorities reach the upstream often), else one of `values`. */
const usually = (nothingWeight: number, ...values: string[]) =>
  fc.oneof({ weight: nothingWeight, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom(...values) });

const trailingDots = usually(2, ".", "..", ". ");
const port = usually(
  1,
  ":443",
  ":80",
  ":443:80",
  ":",
  ":99999",
  ":0",
  ":0443",
  ":abc",
  "::80",
  ":8080",
  ":65535",
  ":65536",
  ": 443",
);
const prefix = usually(3, "evil@", "admin.example.com@", "user:pw@", "evil,", "admin.example.com,", " ");
const suffix = usually(
  3,
  ",evil",
  ",admin.example.com",
  "@admin.example.com",
  "@evil",
  ";x",
  " ",
  "%20",
  "/x",
  "\\x",
  "?x",
  "#x",
);
const authority = fc.tuple(prefix, hostCore, trailingDots, port, suffix).map((parts) => parts.join(""));

/** The request: Host header and request-target; sometimes an absolute-form target with its own authority. */
const hostRequest = fc.oneof(
  { weight: 5, arbitrary: authority.map((host) => ({ host, target: "/x" })) },
  {
    weight: 1,
    arbitrary: fc.tuple(authority, authority).map(([inTarget, host]) => ({ host, target: `https://${inTarget}/x` })),
  },
);

// --- How upstreams read the Host they received ------------------------------------------------

/** Express's req.hostname (port cut at the first colon after a bracketed literal), lower-cased, one trailing dot dropped. */
function expressHostname(host: string): string {
  const offset = host.startsWith("[") ? host.indexOf("]") + 1 : 0;
  const colon = host.indexOf(":", offset);
  const hostname = colon === -1 ? host : host.slice(0, colon);
  return hostname.toLowerCase().replace(/\.$/, "");
}

function urlHostname(host: string): string | null {
  try {
    return new URL(`http://${host}/`).hostname.replace(/\.$/, "");
  } catch {
    return null;
  }
}

/** Readings of the received Host by common upstream code, each as a host name. */
function hostReadings(received: string): Array<{ reader: string; hostname: string | null }> {
  const parts = received.split(",");
  return [
    { reader: "Express req.hostname", hostname: expressHostname(received) },
    { reader: "the part after '@'", hostname: expressHostname(received.slice(received.lastIndexOf("@") + 1)) },
    { reader: "the first ','-separated value", hostname: expressHostname((parts[0] ?? "").trim()) },
    { reader: "the last ','-separated value", hostname: expressHostname((parts.at(-1) ?? "").trim()) },
    { reader: "WHATWG URL hostname", hostname: urlHostname(received) },
  ];
}

// --- The property -----------------------------------------------------------------------------

interface Tally {
  cases: number;
  outcomes: Map<string, number>;
  examples: Map<string, string>;
}

function classify(res: RawResponse): { outcome: string; receivedHost?: string } {
  let json: { error?: unknown; path?: unknown; headers?: Record<string, unknown> } | undefined;
  try {
    json = JSON.parse(res.body) as typeof json;
  } catch {
    json = undefined;
  }
  if (res.status === 200 && typeof json?.path === "string") {
    const host = json.headers?.["host"];
    // Node hands header bytes over as latin1; an upstream reading UTF-8 (a URL parser) sees the UTF-8.
    return {
      outcome: "reached the upstream",
      receivedHost: typeof host === "string" ? Buffer.from(host, "latin1").toString("utf8") : "",
    };
  }
  // The shipped Envoy config answers a bad Host with Portcullis's JSON body, but only Portcullis's
  // denials carry cache-control: no-store: that header tells the two sides apart.
  const by = (res.headers["cache-control"] ?? "").includes("no-store") ? "portcullis" : "envoy";
  const code = typeof json?.error === "string" ? json.error : res.body.trim().slice(0, 40) || "(no body)";
  return { outcome: `${res.status} by ${by}: ${code}` };
}

let stack: Stack;
let pool: RawHttpsPool;
let bob: string;

beforeAll(async () => {
  stack = await startStack({ routes: ROUTES });
  pool = createRawHttpsPool({ port: stack.envoyPort, ca: stack.ca, connections: 4 });
  bob = await stack.idp().mintUserToken("bob");
}, 60_000);

afterAll(async () => {
  pool?.close();
  await stack?.close();
});

describe("authorities through Envoy and Portcullis, read as common upstreams read them", () => {
  it("routes by Host as configured (so the property below is not vacuous)", async () => {
    const auth = { authorization: `Bearer ${bob}` };
    expect((await pool.send({ target: "/x", host: ADMIN_HOST, headers: auth })).status).toBe(403);
    expect((await pool.send({ target: "/x", host: "other.test", headers: auth })).status).toBe(200);
  });

  it(
    "never lets bob reach the upstream with a Host an upstream reads as admin.example.com",
    async () => {
      const seed = propertySeed();
      const started = Date.now();
      const tally: Tally = { cases: 0, outcomes: new Map(), examples: new Map() };
      const failures: Array<{ reader: string; text: string }> = [];
      const checkOne = async ({ host, target }: { host: string; target: string }) => {
        tally.cases++;
        const res = await pool.send({ target, host, headers: { authorization: `Bearer ${bob}` } });
        const { outcome, receivedHost } = classify(res);
        tally.outcomes.set(outcome, (tally.outcomes.get(outcome) ?? 0) + 1);
        if (!tally.examples.has(outcome)) tally.examples.set(outcome, `${target} Host: ${host}`);
        if (receivedHost === undefined) {
          if (![400, 403, 404].includes(res.status))
            throw new Error(
              `${target} Host ${JSON.stringify(host)}: unexpected ${res.status} ${res.body.slice(0, 200)}`,
            );
          return;
        }
        for (const { reader, hostname } of hostReadings(receivedHost)) {
          if (hostname === ADMIN_HOST) {
            failures.push({
              reader,
              text: `${target} with Host ${JSON.stringify(host)} reached the upstream as Host ${JSON.stringify(receivedHost)}`,
            });
          }
        }
      };
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(hostRequest, { minLength: BATCH, maxLength: BATCH }), async (requests) => {
            await Promise.all(requests.map(checkOne));
          }),
          { numRuns: Math.ceil(RUNS / BATCH), seed },
        );
      } finally {
        const outcomes = [...tally.outcomes]
          .map(([key, n]) => `    ${key}: ${n} (e.g. ${JSON.stringify(tally.examples.get(key))})`)
          .join("\n");
        console.log(
          `hosts, bob (seed ${seed}): ${tally.cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s\n${outcomes}`,
        );
      }
      if (failures.length > 0) {
        // Grouped by the upstream reading, a few examples each: one line per class of bypass.
        const byReader = new Map<string, string[]>();
        for (const failure of failures)
          byReader.set(failure.reader, [...(byReader.get(failure.reader) ?? []), failure.text]);
        const shown = [...byReader]
          .map(([reader, texts]) => `${reader}: ${texts.length}\n    ${texts.slice(0, 3).join("\n    ")}`)
          .join("\n  ");
        expect.fail(
          `seed ${seed} (PORTCULLIS_PROPERTY_SEED=${seed} replays it), ${RUNS} runs: ${failures.length} readings name ${ADMIN_HOST} for requests bob got through:\n  ${shown}`,
        );
      }
    },
    TIMEOUT_MS,
  );
});
