// Vitest global setup of the live Keycloak suite (vitest.keycloak.config.ts): starts one Keycloak
// for every test file (its start is the slow part of the suite) and stops it after the last one.
// Test files reach it with inject("keycloak"); each imports its own realm into it.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import type { KeycloakConnection } from "../harness/keycloakAdmin.ts";
import { startKeycloak } from "../harness/startKeycloak.ts";

declare module "vitest" {
  export interface ProvidedContext {
    keycloak: KeycloakConnection;
  }
}

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const keycloak = await startKeycloak();
  const version = (await readFile(join(process.env.KEYCLOAK_HOME ?? "", "version.txt"), "utf8").catch(() => "")).trim();
  process.stdout.write(
    `keycloak under test: ${version || "unknown version"} at ${keycloak.url}, ready ${(keycloak.startupMs / 1000).toFixed(1)} s after start (java: ${process.env.KEYCLOAK_JAVA})\n`,
  );
  project.provide("keycloak", { url: keycloak.url, admin: keycloak.admin });
  return () => keycloak.stop();
}
