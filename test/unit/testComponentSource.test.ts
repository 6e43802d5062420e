// The harness starts Redis and Keycloak from local binaries unless PORTCULLIS_TEST_CONTAINERS=1
// asks for containers (testcontainers, a Docker engine). No engine runs here, so the container path
// is checked up to its failure: it must say what is missing, and never fall back to local binaries.
import { afterEach, describe, expect, it } from "vitest";
import { startKeycloak } from "../harness/startKeycloak.ts";
import { startRedis } from "../harness/startRedis.ts";
import {
  CONTAINERS_VARIABLE,
  KEYCLOAK_IMAGE,
  REDIS_IMAGE,
  loadTestcontainers,
  testComponentSource,
} from "../harness/testComponentSource.ts";

const before = process.env[CONTAINERS_VARIABLE];
afterEach(() => {
  if (before === undefined) delete process.env[CONTAINERS_VARIABLE];
  else process.env[CONTAINERS_VARIABLE] = before;
});

/** What the container path says here: the package is missing, or (installed) no Docker engine answers. */
const CONTAINER_FAILURE = /PORTCULLIS_TEST_CONTAINERS=1 needs the testcontainers package|container runtime/i;

describe("where the test harness gets Redis and Keycloak", () => {
  it("uses local binaries by default, and with the variable empty or 0", () => {
    expect(testComponentSource({})).toBe("local");
    expect(testComponentSource({ [CONTAINERS_VARIABLE]: "" })).toBe("local");
    expect(testComponentSource({ [CONTAINERS_VARIABLE]: "0" })).toBe("local");
  });

  it("uses containers with PORTCULLIS_TEST_CONTAINERS=1 and refuses any other value", () => {
    expect(testComponentSource({ [CONTAINERS_VARIABLE]: "1" })).toBe("containers");
    expect(() => testComponentSource({ [CONTAINERS_VARIABLE]: "yes" })).toThrow(
      'PORTCULLIS_TEST_CONTAINERS must be 1 (containers) or 0/unset (local binaries), got "yes"',
    );
  });

  it("pins the images to the versions the local path runs", () => {
    expect(REDIS_IMAGE).toBe("redis:7.0.15");
    expect(KEYCLOAK_IMAGE).toMatch(/^quay\.io\/keycloak\/keycloak:\d+\.\d+\.\d+$/);
  });

  it("says how to get testcontainers when it is not installed", async () => {
    const missing = async () => {
      throw new Error("Cannot find package 'testcontainers'");
    };
    await expect(loadTestcontainers(missing)).rejects.toThrow(
      /^PORTCULLIS_TEST_CONTAINERS=1 needs the testcontainers package and a Docker engine: run `npm install --no-save testcontainers@12`, or unset PORTCULLIS_TEST_CONTAINERS to use local binaries \(Cannot find package 'testcontainers'\)$/,
    );
  });

  it("starts a local redis-server without the variable", async () => {
    delete process.env[CONTAINERS_VARIABLE];
    const redis = await startRedis();
    try {
      expect(await redis.command("PING")).toBe("PONG");
    } finally {
      await redis.close();
    }
  });

  it("takes the container path for Redis and Keycloak with the variable set, failing clearly without an engine", async () => {
    process.env[CONTAINERS_VARIABLE] = "1";
    await expect(startRedis()).rejects.toThrow(CONTAINER_FAILURE);
    // Without the variable this would fail on KEYCLOAK_HOME instead ("no Keycloak: run bin/test-keycloak").
    await expect(startKeycloak()).rejects.toThrow(CONTAINER_FAILURE);
  });
});
