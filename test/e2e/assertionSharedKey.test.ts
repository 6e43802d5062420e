// Replicas that share Redis and configure no assertion key generate one once and share it: the
// first to start writes it (SET NX), the others read it, so every replica publishes (and signs with)
// the same key, one started later too; a restarted replica keeps it.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createTempScope, type TempScope } from "../harness/createTempScope.ts";
import { startPortcullisProcess, type PortcullisProcess } from "../harness/startPortcullisProcess.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { waitUntil } from "../harness/waitUntil.ts";

let scope: TempScope;
let redis: TestRedis;
let configFile: string;

beforeAll(async () => {
  scope = await createTempScope("portcullis-assertion-key-");
  redis = await startRedis();
  scope.defer(() => redis.close());
  configFile = join(scope.dir, "portcullis.yaml");
  await writeFile(
    configFile,
    stringify({
      listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
      // Never reached: the keys are published whether or not the provider has loaded.
      providers: { corp: { issuer: "http://127.0.0.1:9/idp", audiences: ["api"], allowInsecureHttp: true } },
      redis: { url: redis.url, keyPrefix: "e2e:" },
      identity: { assertion: { issuer: "https://auth.example.com", algorithm: "EdDSA" } },
      routes: [
        { name: "orders", match: { path: "/" }, auth: "required", assertion: { enabled: true, audience: "orders" } },
      ],
      shutdown: { graceSeconds: 1, drainSeconds: 0 },
    }),
    { mode: 0o600 },
  );
}, 60_000);

afterAll(async () => {
  await scope?.close();
});

async function replica(name: string): Promise<PortcullisProcess> {
  const started = await startPortcullisProcess(configFile, join(scope.dir, `${name}.log`));
  scope.defer(() => started.stop());
  return started;
}

/** The replica's published key set, once it has read the shared key. */
async function jwksOf(replica: PortcullisProcess): Promise<string> {
  let body = "";
  const published = await waitUntil(async () => {
    const res = await fetch(`http://127.0.0.1:${replica.ports.auth}/.well-known/jwks.json`);
    body = await res.text();
    return res.status === 200;
  }, 20_000);
  if (!published) throw new Error(`no key set published: ${body}`);
  return body;
}

describe("a generated assertion key with Redis", () => {
  it("is one key for every replica, held in Redis, kept by a replica started later or restarted", async () => {
    const [a, b] = await Promise.all([replica("a"), replica("b")]);
    const [jwksA, jwksB] = await Promise.all([jwksOf(a), jwksOf(b)]);
    expect(jwksB).toBe(jwksA);
    const keys = (JSON.parse(jwksA) as { keys: Record<string, string>[] }).keys;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
    expect(keys[0]).not.toHaveProperty("d");
    const stored = JSON.parse((await redis.command("GET", "e2e:assertion:signing-key")) as string) as Record<
      string,
      string
    >;
    expect(stored["kid"]).toBe(keys[0]!["kid"]);
    await a.stop();
    const c = await replica("c");
    expect(await jwksOf(c)).toBe(jwksA);
  });
});
