// Keycloak in a container (PORTCULLIS_TEST_CONTAINERS=1): the image of the version bin/provision.sh
// pins, `start-dev` with an admin made at first start, bound to a reserved loopback port that is also
// its fixed hostname, so issuers look as on the local path. There is no process to name: pid is -1;
// the local path's options (home, Java, seed) do not apply.

import { randomBytes } from "node:crypto";
import type { KeycloakServer, StartKeycloakOptions } from "./startKeycloak.ts";
import { KEYCLOAK_IMAGE, loadTestcontainers } from "./testComponentSource.ts";
import { reservePort } from "./reservePort.ts";

export async function startKeycloakContainer(_options: StartKeycloakOptions = {}): Promise<KeycloakServer> {
  const { GenericContainer, Wait } = await loadTestcontainers();
  const reserved = await reservePort();
  const port = reserved.port;
  await reserved.release();
  const url = `http://127.0.0.1:${port}`;
  const admin = { username: "admin", password: randomBytes(16).toString("hex") };
  const started = Date.now();
  const container = await new GenericContainer(KEYCLOAK_IMAGE)
    .withExposedPorts({ container: 8080, host: port })
    .withEnvironment({ KC_BOOTSTRAP_ADMIN_USERNAME: admin.username, KC_BOOTSTRAP_ADMIN_PASSWORD: admin.password })
    // One fixed issuer whoever asks, as on the local path: no Host-derived URLs.
    .withCommand(["start-dev", "--cache=local", `--hostname=${url}`])
    .withWaitStrategy(Wait.forHttp("/realms/master/.well-known/openid-configuration", 8080))
    .start();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await container.stop();
    })());
  return { url, port, pid: -1, admin, startupMs: Date.now() - started, logFile: "(container log)", stop };
}
