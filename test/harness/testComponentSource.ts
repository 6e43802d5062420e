// Where the harness gets Redis and Keycloak: local binaries (the default, and what CI runs on our
// machines, which have no Docker engine) or, with PORTCULLIS_TEST_CONTAINERS=1, containers started by
// the `testcontainers` package on a machine with a Docker engine. The package is imported only on
// that path and is not a dependency (170 packages, 48 MB): install it with `npm install --no-save`.

export type TestComponentSource = "local" | "containers";

export const CONTAINERS_VARIABLE = "PORTCULLIS_TEST_CONTAINERS";
/** The same versions as the local path: Debian's redis-server and bin/provision.sh's KEYCLOAK_VERSION. */
export const REDIS_IMAGE = "redis:7.0.15";
export const KEYCLOAK_IMAGE = "quay.io/keycloak/keycloak:26.7.3";
export const TESTCONTAINERS_PACKAGE = "testcontainers@12";

export function testComponentSource(env: NodeJS.ProcessEnv = process.env): TestComponentSource {
  const value = env[CONTAINERS_VARIABLE];
  if (value === undefined || value === "" || value === "0") return "local";
  if (value === "1") return "containers";
  throw new Error(
    `${CONTAINERS_VARIABLE} must be 1 (containers) or 0/unset (local binaries), got ${JSON.stringify(value)}`,
  );
}

/** The part of testcontainers' API the harness uses, typed here because the package is optional. */
export interface StartedContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}
interface ContainerBuilder {
  withExposedPorts(...ports: ({ container: number; host: number } | number)[]): ContainerBuilder;
  withEnvironment(environment: Record<string, string>): ContainerBuilder;
  withCommand(command: string[]): ContainerBuilder;
  withWaitStrategy(strategy: unknown): ContainerBuilder;
  start(): Promise<StartedContainer>;
}
export interface Testcontainers {
  readonly GenericContainer: new (image: string) => ContainerBuilder;
  readonly Wait: {
    forLogMessage(message: string | RegExp): unknown;
    forHttp(path: string, port: number): unknown;
  };
}

/** Imports testcontainers, or fails saying how to get it; `load` is replaceable so a test can check the message. */
export async function loadTestcontainers(
  load: (name: string) => Promise<unknown> = (name) => import(name),
): Promise<Testcontainers> {
  try {
    return (await load("testcontainers")) as Testcontainers;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new Error(
      `${CONTAINERS_VARIABLE}=1 needs the testcontainers package and a Docker engine: run \`npm install --no-save ${TESTCONTAINERS_PACKAGE}\`, or unset ${CONTAINERS_VARIABLE} to use local binaries (${reason})`,
    );
  }
}
