// Differential property test of request paths through the real Envoy (the shipped envoy/demo.yaml),
// Portcullis and an echo upstream that reports the path it received. Paths come from a grammar rich
// in dot segments, escapes, `;`, letter case, slashes and unicode. Property: whenever the gate lets a
// request through, every way a common upstream reads the received path (as is, Express, Tomcat/Spring,
// a double-decoding server, IIS) gets no stricter decision from the gate when sent as such by the same
// caller. If it did, the upstream serves a protected resource under a looser rule's decision.
// (Readings include the trailing slash toggled, as Express 5, Rails and ASP.NET Core route.)
// Two policies: whitelist (`/admin/`, the exact `/panel` and the regex `^/v[0-9]+/users$` need role
// admin, `/public/` public, the rest a login) probed as bob (no admin role), and blacklist (the same
// three need role admin, the rest public) probed anonymously.
// Requests Envoy refuses itself are asked of Portcullis directly, to record which side refuses what.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { openCheckClient } from "../harness/grpcTestClients.ts";
import type { CheckClient } from "../harness/grpcTestClients.ts";
import { createRawHttpsPool } from "../harness/createRawHttpsPool.ts";
import type { RawHttpsPool, RawResponse } from "../harness/createRawHttpsPool.ts";
import { envoyPropertyRuns } from "../harness/propertyRuns.ts";
import { propertySeed } from "../harness/propertySeed.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";
import { upstreamPathReadings } from "../harness/upstreamPathReadings.ts";

const RUNS = envoyPropertyRuns(1500);
/** Cases sent side by side (one property run checks a batch), so the pool's connections stay busy. */
const BATCH = 8;
/** Generous per case on a loaded 2-core machine; a long bin/fuzz run gets time in proportion. */
const TIMEOUT_MS = Math.max(120_000, RUNS * 40);

/** Exact and anchored-regex rules, which a trailing slash must not get past (Express 5 ignores it). */
const EXACT_ROUTES = [
  { name: "panel", match: { pathExact: "/panel" }, require: { roles: ["admin"] } },
  { name: "users", match: { pathRegex: "^/v[0-9]+/users$" }, require: { roles: ["admin"] } },
];
const WHITELIST_ROUTES = [
  { name: "admin", match: { path: "/admin" }, auth: "required", require: { roles: ["admin"] } },
  ...EXACT_ROUTES.map((route) => ({ ...route, auth: "required" })),
  { name: "public", match: { path: "/public" }, auth: "public" },
];
const BLACKLIST_ROUTES = [{ name: "admin", match: { path: "/admin" }, require: { roles: ["admin"] } }, ...EXACT_ROUTES];

// --- The path grammar -------------------------------------------------------------------------

const caseVariant = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => (upper[i] === true ? c.toUpperCase() : c)).join(""));

/** Pieces a segment is made of: words, dots, escapes, separators seen inside segments, unicode. */
const atom = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("admin", "public", "x", "y", "api", "adm", "in", "a", "users") },
  { weight: 4, arbitrary: caseVariant("admin") },
  { weight: 2, arbitrary: caseVariant("public") },
  { weight: 4, arbitrary: fc.constantFrom(".", "..", "%2e", "%2E", "%2e%2e", "%2E%2e", ".%2e", "%2e.", "...") },
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      "%25",
      "%2561",
      "%2561dmin",
      "%252e",
      "%252f",
      "%61",
      "%61dmin",
      "adm%69n",
      "%41DMIN",
      "%3b",
      "%3B",
      "%c0%ae",
      "%C0%AE",
      "%c0%af",
      "%e0%80%ae",
      "%ff",
      "%80",
      "%20",
      "%09",
      "%2f",
      "%2F",
      "%5c",
      "%00",
      "%",
    ),
  },
  { weight: 3, arbitrary: fc.constantFrom(";", ";x", ";jsessionid=1", ";/", "=", ":", "@", "!", "~", "+", "&") },
  { weight: 1, arbitrary: fc.constantFrom("ä", "ı", "ſ", "K", "ａ", "😀", "\u200b", "\u00a0") },
  { weight: 1, arbitrary: fc.constantFrom("%C3%A4", "%c4%b1", "%C5%BF", "%E2%84%AA", "%ef%bd%81", "%e2%80%8b") },
);
const segment = fc.array(atom, { minLength: 0, maxLength: 3 }).map((atoms) => atoms.join(""));
const separator = fc.constantFrom("/", "/", "/", "/", "//", "///");
/** The first segment leans on `admin` and `public`, so most cases test the rules' boundary. */
const firstSegment = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.tuple(caseVariant("admin"), fc.array(atom, { maxLength: 2 })).map(([w, rest]) => w + rest.join("")),
  },
  // What servers trim or strip from a segment's end, right after the protected word.
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        caseVariant("admin"),
        fc.constantFrom(";", ";x", ";x=1", "%3b", ".", "..", "%2e", ". ", "%20", "%09", ".%20", "%20.", "%00"),
      )
      .map(([w, end]) => w + end),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.array(atom, { maxLength: 2 }), caseVariant("admin")).map(([rest, w]) => rest.join("") + w),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(caseVariant("public"), fc.array(atom, { maxLength: 2 })).map(([w, rest]) => w + rest.join("")),
  },
  // The exact and regex rules: `/panel`, `/v1/users` (the rest may add `/users`).
  { weight: 2, arbitrary: fc.constantFrom("panel", "Panel", "v1", "V22", "v1/users", "v1/Users") },
  { weight: 3, arbitrary: segment },
);
const query = fc.constantFrom("", "", "", "?a=1", "?next=/admin/", "?;x");
const attackPath = fc
  .tuple(firstSegment, fc.array(fc.tuple(separator, segment), { maxLength: 4 }), fc.constantFrom("", "/"), query)
  .map(([first, rest, trailing, q]) => "/" + first + rest.map(([sep, seg]) => sep + seg).join("") + trailing + q);

// --- Sending and classifying ------------------------------------------------------------------

type Outcome =
  { kind: "upstream"; received: string } | { kind: "denied"; status: number; by: "portcullis" | "envoy"; code: string };

function classify(target: string, res: RawResponse): Outcome {
  let json: { error?: unknown; path?: unknown } | undefined;
  try {
    json = JSON.parse(res.body) as typeof json;
  } catch {
    json = undefined;
  }
  if (res.status === 200 && typeof json?.path === "string") return { kind: "upstream", received: json.path };
  if ([400, 401, 403, 404].includes(res.status)) {
    // The shipped Envoy config answers the shapes it refuses with Portcullis's JSON body, but only
    // Portcullis's denials carry cache-control: no-store: that header tells the two sides apart.
    const byPortcullis = (res.headers["cache-control"] ?? "").includes("no-store");
    const code = typeof json?.error === "string" ? json.error : res.body.trim().slice(0, 40) || "(no body)";
    return { kind: "denied", status: res.status, by: byPortcullis ? "portcullis" : "envoy", code };
  }
  throw new Error(`${JSON.stringify(target)}: unexpected answer ${res.status} ${res.body.slice(0, 200)}`);
}

interface Tally {
  cases: number;
  requests: number;
  reachedUpstream: number;
  readingsSent: number;
  denied: Map<string, number>;
  /** Paths Envoy refused itself: Portcullis's own verdict on each (asked directly). */
  envoyOnly: Map<string, { count: number; example: string }>;
  /** Paths the shipped Envoy config refused as path_invalid that Portcullis would not refuse so. */
  inconsistent: string[];
}

function newTally(): Tally {
  return {
    cases: 0,
    requests: 0,
    reachedUpstream: 0,
    readingsSent: 0,
    denied: new Map(),
    envoyOnly: new Map(),
    inconsistent: [],
  };
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function report(name: string, tally: Tally, ms: number): string {
  const denied = [...tally.denied].map(([key, n]) => `    ${key}: ${n}`).join("\n");
  const envoy = [...tally.envoyOnly]
    .map(([key, v]) => `    ${key}: ${v.count} (e.g. ${JSON.stringify(v.example)})`)
    .join("\n");
  return (
    `${name}: ${tally.cases} cases, ${tally.requests} requests in ${(ms / 1000).toFixed(1)} s; ` +
    `${tally.reachedUpstream} reached the upstream, ${tally.readingsSent} upstream readings sent back\n` +
    `  refused (status by side: code):\n${denied || "    none"}\n` +
    `  refused by Envoy itself, and what Portcullis answers when asked directly:\n${envoy || "    none"}`
  );
}

interface Prober {
  /** Portcullis asked directly (no Envoy in between). */
  readonly portcullis: CheckClient;
  readonly pool: RawHttpsPool;
  /** Headers of the caller (bob's bearer token, or none). */
  readonly headers: Readonly<Record<string, string>>;
  readonly tally: Tally;
}

async function probe(prober: Prober, target: string): Promise<Outcome> {
  prober.tally.requests++;
  const outcome = classify(target, await prober.pool.send({ target, headers: prober.headers }));
  if (outcome.kind === "denied") {
    count(prober.tally.denied, `${outcome.status} by ${outcome.by}: ${outcome.code}`);
    if (outcome.by === "envoy") {
      // What would Portcullis have said? (Its normaliser reads the raw target as Envoy would.)
      const answer = await prober.portcullis.check(target, {
        ...lowerCased(prober.headers),
        accept: "application/json",
      });
      const denied = answer["denied_response"] as { status?: { code?: string }; body?: string } | undefined;
      const verdict = denied === undefined ? "allow" : `deny: ${errorOf(denied.body)}`;
      const key = `Envoy ${outcome.status} ${outcome.code}, Portcullis would ${verdict}`;
      const entry = prober.tally.envoyOnly.get(key) ?? { count: 0, example: target };
      entry.count++;
      prober.tally.envoyOnly.set(key, entry);
      // The config's own path_invalid answer must be one Portcullis gives too: the two implement one list.
      // (Envoy's codec refusing what Portcullis accepts, raw non-ASCII say, is Envoy being stricter.)
      if (outcome.code === "path_invalid" && verdict !== "deny: path_invalid")
        prober.tally.inconsistent.push(`${JSON.stringify(target)}: Portcullis would ${verdict}`);
    }
  }
  return outcome;
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function errorOf(body: string | undefined): string {
  try {
    return String((JSON.parse(body ?? "") as { error?: unknown }).error);
  } catch {
    return "(no code)";
  }
}

interface Disagreement {
  readonly server: string;
  readonly text: string;
}

/** The property for one target: every upstream reading the gate is stricter on than on the target. */
async function disagreements(prober: Prober, target: string): Promise<Disagreement[]> {
  prober.tally.cases++;
  const found: Disagreement[] = [];
  const first = await probe(prober, target);
  if (first.kind !== "upstream") return found;
  prober.tally.reachedUpstream++;
  for (const reading of upstreamPathReadings(first.received)) {
    if (reading.target === target) continue;
    prober.tally.readingsSent++;
    const again = await probe(prober, reading.target);
    if (again.kind === "denied" && (again.status === 401 || again.status === 403)) {
      found.push({
        server: reading.server,
        text:
          `${JSON.stringify(target)} reached the upstream as ${JSON.stringify(first.received)}, served by ` +
          `${reading.server} as ${JSON.stringify(reading.target)}; that path is denied ${again.status} ${again.code}`,
      });
    }
  }
  return found;
}

/**
 * Runs the property over RUNS generated paths. Every disagreement is collected (not only the first),
 * so one run shows each class of bypass; the seed is printed, and PORTCULLIS_PROPERTY_SEED replays it.
 */
async function runProperty(name: string, prober: Prober): Promise<void> {
  const seed = propertySeed();
  const started = Date.now();
  const failures: Disagreement[] = [];
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(attackPath, { minLength: BATCH, maxLength: BATCH }), async (targets) => {
        for (const found of await Promise.all(targets.map((target) => disagreements(prober, target))))
          failures.push(...found);
      }),
      { numRuns: Math.ceil(RUNS / BATCH), seed },
    );
  } finally {
    console.log(report(`${name} (seed ${seed})`, prober.tally, Date.now() - started));
  }
  expect(
    prober.tally.inconsistent,
    `${name} (seed ${seed}): Envoy answered path_invalid where Portcullis would not`,
  ).toEqual([]);
  if (failures.length > 0) {
    // Grouped by the upstream reading, a few examples each: one line per class of bypass.
    const byServer = new Map<string, Disagreement[]>();
    for (const failure of failures) byServer.set(failure.server, [...(byServer.get(failure.server) ?? []), failure]);
    const shown = [...byServer]
      .map(
        ([server, found]) =>
          `${server}: ${found.length}\n    ${found
            .slice(0, 3)
            .map((f) => f.text)
            .join("\n    ")}`,
      )
      .join("\n  ");
    expect.fail(
      `${name} (seed ${seed}: PORTCULLIS_PROPERTY_SEED=${seed} replays it; ${RUNS} runs): ${failures.length} upstream readings of paths let through are denied:\n  ${shown}`,
    );
  }
}

let whitelist: Stack;
let blacklist: Stack;
const pools: RawHttpsPool[] = [];
const checkClients: CheckClient[] = [];

beforeAll(async () => {
  const started = await Promise.allSettled([
    startStack({ routes: WHITELIST_ROUTES, config: { policy: { mode: "whitelist" } } }),
    startStack({ routes: BLACKLIST_ROUTES, config: { policy: { mode: "blacklist" } } }),
  ]);
  [whitelist, blacklist] = started.map((result) =>
    result.status === "fulfilled" ? result.value : undefined,
  ) as Stack[];
  const failed = started.find((result) => result.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}, 60_000);

afterAll(async () => {
  for (const pool of pools) pool.close();
  for (const client of checkClients) client.close();
  await Promise.all([whitelist, blacklist].map((stack) => stack?.close()));
});

function checkClientFor(stack: Stack): CheckClient {
  const client = openCheckClient(stack.portcullisGrpcPort);
  checkClients.push(client);
  return client;
}

function poolFor(stack: Stack): RawHttpsPool {
  const pool = createRawHttpsPool({ port: stack.envoyPort, ca: stack.ca, connections: 4 });
  pools.push(pool);
  return pool;
}

describe("paths through Envoy and Portcullis, read as common upstreams read them", () => {
  it(
    "whitelist mode: no path bob gets through is one an upstream serves as a path bob is denied",
    async () => {
      const token = await whitelist.idp().mintUserToken("bob");
      await runProperty("whitelist, bob", {
        portcullis: checkClientFor(whitelist),
        pool: poolFor(whitelist),
        headers: { authorization: `Bearer ${token}` },
        tally: newTally(),
      });
    },
    TIMEOUT_MS,
  );

  it(
    "blacklist mode: no path an anonymous client gets through is one an upstream serves as a path that needs a login",
    async () => {
      await runProperty("blacklist, anonymous", {
        portcullis: checkClientFor(blacklist),
        pool: poolFor(blacklist),
        headers: {},
        tally: newTally(),
      });
    },
    TIMEOUT_MS,
  );

  it("the stacks answer as configured for plain paths (so the property above is not vacuous)", async () => {
    const token = await whitelist.idp().mintUserToken("bob");
    const pool = poolFor(whitelist);
    const bob = { authorization: `Bearer ${token}` };
    expect((await pool.send({ target: "/admin/y", headers: bob })).status).toBe(403);
    expect((await pool.send({ target: "/other/y", headers: bob })).status).toBe(200);
    expect((await pool.send({ target: "/other/y" })).status).toBe(401);
    expect((await pool.send({ target: "/public/y" })).status).toBe(200);
    const anonymous = poolFor(blacklist);
    expect((await anonymous.send({ target: "/admin/y" })).status).toBe(401);
    expect((await anonymous.send({ target: "/other/y" })).status).toBe(200);
    for (const target of ["/panel", "/panel/", "/v1/users", "/v1/users/"]) {
      expect((await pool.send({ target, headers: bob })).status, target).toBe(403);
      expect((await anonymous.send({ target })).status, target).toBe(401);
    }
  });
});
