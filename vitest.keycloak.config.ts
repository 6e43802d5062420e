import { defineConfig } from "vitest/config";

// The live Keycloak suite (bin/test-keycloak): test/keycloak only, against one Keycloak that the
// global setup starts for all files. The core suite (vitest.config.ts) excludes these files.
export default defineConfig({
  test: {
    include: ["test/keycloak/**/*.test.ts"],
    globalSetup: ["test/harness/globalSetup.ts", "test/keycloak/keycloakGlobalSetup.ts"],
    pool: "forks",
    maxWorkers: 2,
    // Keycloak answers slowly while the machine is busy: wider than the core suite's timeouts.
    testTimeout: 90_000,
    hookTimeout: 240_000,
    reporters: ["default"],
  },
});
