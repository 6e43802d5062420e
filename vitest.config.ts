import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The live Keycloak suite has its own command (bin/test-keycloak, vitest.keycloak.config.ts).
    exclude: [...configDefaults.exclude, "test/keycloak/**"],
    globalSetup: ["test/harness/globalSetup.ts"],
    // PORTCULLIS_PROPERTY_SEED replays a property run (a no-op without it).
    setupFiles: ["test/harness/propertySeedSetup.ts"],
    // End-to-end files start real processes (Envoy, IdP); two workers match the 2-core machines.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 90_000,
    reporters: ["default"],
  },
});
