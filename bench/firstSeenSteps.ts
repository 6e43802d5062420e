// Every step of a first-seen RS256 bearer check timed on its own, over the same stream of distinct
// tokens, rounds interleaving the steps so each sees the same machine: what a profile's inlining
// blurs (a step's cost shows up in whichever caller V8 inlined it into) is measured here directly.
// The whole check, first-seen and cached, runs in the same rounds so the steps can be held against
// the difference. CPU µs per token (this thread), medians over rounds.
// Run: node --disable-warning=ExperimentalWarning bench/firstSeenSteps.ts [--tokens 2000] [--rounds 7]
import { generateKeyPairSync, hash, sign, verify } from "node:crypto";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { buildCheckPipeline } from "../src/app/buildCheckPipeline.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import { createIdentityHeaderCache } from "../src/core/createIdentityHeaderCache.ts";
import { createIdentityHeaders } from "../src/identity/IdentityHeaders.ts";
import { createLogger } from "../src/observability/createLogger.ts";
import { checkProviderClaims } from "../src/oidc/checkProviderClaims.ts";
import { checkTimeClaims } from "../src/oidc/checkTimeClaims.ts";
import { compactShapeProblem, readUnverifiedIssuer } from "../src/oidc/compactJwt.ts";
import { createIssuerPolicy } from "../src/oidc/createIssuerPolicy.ts";
import { freezeClaims } from "../src/oidc/freezeClaims.ts";
import { createKeySetIndex } from "../src/oidc/KeySetIndex.ts";
import { readKeySet } from "../src/oidc/readKeySet.ts";
import { refuseNonAccessTokens } from "../src/oidc/refuseNonAccessTokens.ts";
import { createTokenCache } from "../src/oidc/TokenCache.ts";
import { validateJwtClaims } from "../src/oidc/validateJwtClaims.ts";
import { verifyCompactJws } from "../src/oidc/verifyCompactJws.ts";
import { decodeCheckRequest } from "../src/transport/decodeCheckRequest.ts";
import { encodeCheckResponse } from "../src/transport/encodeCheckResponse.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { realisticAccessTokenClaims } from "./realisticAccessTokenClaims.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
};
const TOKENS = Number(arg("tokens")) || 2000;
const ROUNDS = Number(arg("rounds")) || 7;

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwks = await startJwksServer();
const jwk = { ...rsa.publicKey.export({ format: "jwk" }), kid: "bench-rs256", alg: "RS256", use: "sig" };
jwks.setJwks({ keys: [jwk] });
const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
let serial = 0;

/** The bench/firstSeenToken.ts token shape (about 800 bytes, like a real IdP's). */
function mint(): string {
  serial += 1;
  const input = `${b64({ alg: "RS256", kid: "bench-rs256", typ: "JWT" })}.${b64(realisticAccessTokenClaims(jwks.issuer, serial, now))}`;
  return `${input}.${sign("sha256", Buffer.from(input), rsa.privateKey).toString("base64url")}`;
}

const providerConfig = {
  issuer: jwks.issuer,
  audiences: ["bench-api"],
  algorithms: ["RS256"],
  allowInsecureHttp: true,
};
const parsed = parseConfig({
  providers: { bench: providerConfig },
  routes: [{ name: "bench", match: { path: "/" }, auth: "required" }],
  tokenCache: { maxEntries: 1_000_000 },
  log: { level: "warn" },
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const config = parsed.config;
const provider = config.providers["bench"]!;
const index = createKeySetIndex(readKeySet([jwk]).keys);
const allowed = new Set(["RS256"]);
const issuers = createIssuerPolicy(provider);
const identity = createIdentityHeaders(config.identity, Object.values(config.providers));
const pipeline = buildCheckPipeline(config, createLogger("warn"));
await pipeline.registry.start();
const method = checkMethodDefinition;

let resolveCheck: () => void = () => undefined;
let allowed200 = 0;
const callback: sendUnaryData<unknown> = (_err, response) => {
  if ((response as Buffer)[4] === 0x1a) allowed200 += 1;
  resolveCheck();
};
async function check(wire: Buffer): Promise<void> {
  const done = new Promise<void>((resolve) => (resolveCheck = resolve));
  pipeline.handlers["Check"](
    { request: decodeCheckRequest(wire) } as ServerUnaryCall<never, unknown> as never,
    callback,
  );
  await done;
}

interface Inputs {
  readonly tokens: readonly string[];
  readonly wires: readonly Buffer[];
  readonly payloads: readonly string[];
}
const inputsOf = (count: number): Inputs => {
  const tokens = Array.from({ length: count }, mint);
  return {
    tokens,
    wires: tokens.map((t) => method.requestSerialize(buildCheckRequest(t, "localhost", "/x"))),
    payloads: tokens.map((t) => Buffer.from(t.split(".")[1]!, "base64url").toString("utf8")),
  };
};
const same = inputsOf(TOKENS); // the pure steps reuse these every round
const cachedWire = same.wires[0]!;
// Sized for one round: the LRU allocates its tables for maxEntries up front (once per process in serve).
const tokenCache = () => createTokenCache({ maxEntries: TOKENS, now: () => Date.now() });

type Step = (input: Inputs) => void | Promise<void>;
/** Each step over every token; a step that needs fresh state (cache, claims objects) makes it first. */
const steps: readonly (readonly [string, Step])[] = [
  ["shape check (compactShapeProblem)", ({ tokens }) => tokens.forEach((t) => compactShapeProblem(t))],
  ["SHA-256 cache key (also on a cached check)", ({ tokens }) => tokens.forEach((t) => hash("sha256", t, "base64url"))],
  ["payload: base64url, UTF-8, JSON.parse", ({ tokens }) => tokens.forEach((t) => readUnverifiedIssuer(t))],
  [
    "header checks + signature (verifyCompactJws)",
    ({ tokens }) => tokens.forEach((t) => verifyCompactJws(t, index, allowed)),
  ],
  [
    "  of which RS256 verify alone (node:crypto)",
    ({ tokens }) =>
      tokens.forEach((t) => {
        const last = t.lastIndexOf(".");
        verify(
          "sha256",
          Buffer.from(t.slice(0, last), "latin1"),
          rsa.publicKey,
          Buffer.from(t.slice(last + 1), "base64url"),
        );
      }),
  ],
  [
    "claim checks (jose's, time, issuer, form)",
    ({ payloads }) => {
      const header = { alg: "RS256", kid: "bench-rs256", typ: "JWT" };
      for (const text of payloads) {
        const claims = JSON.parse(text) as Record<string, unknown>;
        validateJwtClaims(header, claims, {
          audiences: provider.audiences,
          typ: undefined,
          toleranceSeconds: 30,
          nowSeconds: now,
        });
        checkTimeClaims(claims, now, 30);
        checkProviderClaims(provider, issuers, claims);
        refuseNonAccessTokens(header.typ, claims, { idTokensAreBearer: false });
      }
    },
  ],
  ["  JSON.parse alone (subtract from the line above)", ({ payloads }) => payloads.forEach((p) => JSON.parse(p))],
  ["freeze claims (+ JSON.parse)", ({ payloads }) => payloads.forEach((p) => freezeClaims(JSON.parse(p)))],
  [
    "token cache insert (+ SHA-256 key)",
    ({ tokens }) => {
      const cache = tokenCache();
      for (const t of tokens) cache.set(cache.keyOf(t), { provider: "bench", claims: {}, expiresAt: now + 3600 }, "k");
    },
  ],
  [
    "identity headers, first time (+ JSON.parse, freeze)",
    ({ payloads }) => {
      const headers = createIdentityHeaderCache(identity, false);
      for (const p of payloads) headers(freezeClaims(JSON.parse(p)), false, "bench", false);
    },
  ],
  [
    "response bytes for a new answer (+ identity headers …)",
    ({ payloads }) => {
      const headers = createIdentityHeaderCache(identity, false);
      for (const p of payloads) {
        const set = headers(freezeClaims(JSON.parse(p)), false, "bench", false);
        const bytes = encodeCheckResponse({
          kind: "allow",
          route: "bench",
          reason: "authenticated",
          setHeaders: set.set,
          removeHeaders: set.remove,
          provider: "bench",
          credential: "bearer",
        });
        Buffer.allocUnsafeSlow(bytes!.length).set(bytes!);
      }
    },
  ],
  [
    "registry verify(), first-seen (all of the oidc steps)",
    async ({ tokens }) => {
      for (const t of tokens) if (!(await pipeline.registry.verify(t, [])).ok) throw new Error("refused");
    },
  ],
  [
    "whole check, cached token",
    async ({ tokens }) => {
      for (let i = 0; i < tokens.length; i++) await check(cachedWire);
    },
  ],
  [
    "whole check, first-seen token",
    async ({ wires }) => {
      for (const wire of wires) await check(wire);
    },
  ],
];

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
await check(cachedWire);
const samples = new Map<string, number[]>(steps.map(([name]) => [name, []]));
for (let round = 0; round <= ROUNDS; round++) {
  // The registry and the whole check need tokens they have not seen, each its own.
  const fresh = inputsOf(TOKENS);
  const freshToo = inputsOf(TOKENS);
  for (const [name, step] of round % 2 === 0 ? steps : [...steps].reverse()) {
    const input = name === "whole check, first-seen token" ? fresh : name.startsWith("registry") ? freshToo : same;
    const cpu = process.cpuUsage();
    await step(input);
    const used = process.cpuUsage(cpu);
    if (round > 0) samples.get(name)!.push((used.user + used.system) / TOKENS); // round 0 warms up
  }
}
pipeline.registry.close();
await jwks.close();
if (allowed200 !== (ROUNDS + 1) * 2 * TOKENS + 1) throw new Error("a whole check was not allowed");
console.log(`first-seen RS256 check, step by step: CPU µs per token, median of ${ROUNDS} rounds of ${TOKENS}`);
for (const [name] of steps) console.log(`${median(samples.get(name)!).toFixed(1).padStart(7)}  ${name}`);
const perRound = samples
  .get("whole check, first-seen token")!
  .map((v, i) => v - samples.get("whole check, cached token")![i]!);
console.log(`${median(perRound).toFixed(1).padStart(7)}  first-seen − cached (per round, median)`);
