// Vitest global setup: prints the Envoy version the end-to-end tests run against, once per run,
// so that a failure report always says which Envoy was used. Register in vitest.config.ts
// (`test.globalSetup: ["test/harness/globalSetup.ts"]`).

import { envoyVersion } from "../../src/demo/startEnvoy.ts";

export async function setup(): Promise<void> {
  if (process.env.ENVOY_BIN === undefined) {
    process.stdout.write("envoy: ENVOY_BIN not set (end-to-end tests need bin/test or ENVOY_BIN)\n");
    return;
  }
  process.stdout.write(`envoy under test: ${await envoyVersion()} (${process.env.ENVOY_BIN})\n`);
}
