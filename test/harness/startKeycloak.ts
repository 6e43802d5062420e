// A real Keycloak for the live IdP suite: the Maven Central distribution that bin/test-keycloak
// provisions (KEYCLOAK_HOME, built for `start --optimized`), run by KEYCLOAK_JAVA on a free loopback
// port, its database a copy of the provisioned seed (schema, master realm, an admin) in a temp dir.
// Realms are imported afterwards through the admin REST API (test/harness/keycloakAdmin.ts).
// stop() ends the whole process group (kc.sh and its JVM); so does the test process's exit.
// With PORTCULLIS_TEST_CONTAINERS=1, a container instead (startKeycloakContainer.ts).

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reservePort } from "./reservePort.ts";
import { testComponentSource } from "./testComponentSource.ts";

export interface KeycloakAdminCredentials {
  readonly username: string;
  readonly password: string;
}

export interface KeycloakServer {
  /** `http://127.0.0.1:<port>`: also Keycloak's fixed hostname, so every issuer starts with it. */
  readonly url: string;
  readonly port: number;
  /** kc.sh's pid, leader of the process group that holds the JVM. */
  readonly pid: number;
  /** The master realm's admin (from the seed, or made at first start without one). */
  readonly admin: KeycloakAdminCredentials;
  /** From spawn until the master realm's discovery document answered 200. */
  readonly startupMs: number;
  readonly logFile: string;
  /** SIGTERM to the process group, SIGKILL after 20 s; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartKeycloakOptions {
  /** Default $KEYCLOAK_HOME. */
  readonly home?: string;
  /** A Java >= 21; default $KEYCLOAK_JAVA. */
  readonly java?: string;
  /** A dir with h2/keycloakdb.mv.db and admin.json; default $KEYCLOAK_SEED_DIR (optional). */
  readonly seedDir?: string;
  /** Default 240 s: a first start on a loaded 2-core machine takes a minute or more. */
  readonly startTimeoutMs?: number;
}

const STOP_GRACE_MS = 20_000;

const groups = new Set<number>();
let exitHooked = false;

function killGroupOnExit(pid: number): void {
  groups.add(pid);
  if (exitHooked) return;
  exitHooked = true;
  process.on("exit", () => {
    for (const leader of groups) signalGroup(leader, "SIGKILL");
  });
}

function signalGroup(leader: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-leader, signal);
  } catch {
    // already gone
  }
}

export async function startKeycloak(options: StartKeycloakOptions = {}): Promise<KeycloakServer> {
  if (testComponentSource() === "containers")
    return (await import("./startKeycloakContainer.ts")).startKeycloakContainer(options);
  const home = options.home ?? process.env.KEYCLOAK_HOME;
  const java = options.java ?? process.env.KEYCLOAK_JAVA;
  if (home === undefined || home === "" || !existsSync(join(home, "bin", "kc.sh"))) {
    throw new Error(
      "no Keycloak: run bin/test-keycloak (it provisions Java and Keycloak) or set KEYCLOAK_HOME and KEYCLOAK_JAVA",
    );
  }
  if (java === undefined || java === "" || !existsSync(java))
    throw new Error("no Java >= 21 for Keycloak: set KEYCLOAK_JAVA (bin/test-keycloak does)");
  const seedDir = options.seedDir ?? process.env.KEYCLOAK_SEED_DIR;
  const timeoutMs = options.startTimeoutMs ?? 240_000;

  const dir = await mkdtemp(join(tmpdir(), "portcullis-keycloak-"));
  await mkdir(join(dir, "h2"));
  await mkdir(join(dir, "tmp"));
  let admin: KeycloakAdminCredentials;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (seedDir !== undefined && seedDir !== "") {
    await copyFile(join(seedDir, "h2", "keycloakdb.mv.db"), join(dir, "h2", "keycloakdb.mv.db"));
    admin = JSON.parse(await readFile(join(seedDir, "admin.json"), "utf8")) as KeycloakAdminCredentials;
  } else {
    // No seed: Keycloak creates its schema and this admin at first start (about 40 s more).
    admin = { username: "admin", password: randomBytes(16).toString("hex") };
    env.KC_BOOTSTRAP_ADMIN_USERNAME = admin.username;
    env.KC_BOOTSTRAP_ADMIN_PASSWORD = admin.password;
  }
  env.JAVA = java;
  // The distribution's data/ is shared by every run: temp files and the transaction log go to ours.
  // C1 only: the JIT then costs a 2-core machine far less CPU at start, and tests are short.
  env.JAVA_OPTS_APPEND = [
    `-Djava.io.tmpdir=${join(dir, "tmp")}`,
    `-Dquarkus.transaction-manager.object-store.directory=${join(dir, "tx")}`,
    "-XX:TieredStopAtLevel=1",
  ].join(" ");

  const reserved = await reservePort();
  const port = reserved.port;
  const url = `http://127.0.0.1:${port}`;
  const args = [
    "start",
    "--optimized",
    "--cache=local",
    "--http-enabled=true",
    "--http-host=127.0.0.1",
    `--http-port=${port}`,
    // One fixed issuer whoever asks (Portcullis, the browser, the tests): no Host-derived URLs.
    `--hostname=${url}`,
    `--db-url=jdbc:h2:file:${join(dir, "h2", "keycloakdb")};NON_KEYWORDS=VALUE`,
  ];
  const logFile = join(dir, "keycloak.log");
  const log = createWriteStream(logFile, { flags: "a", mode: 0o600 });
  await reserved.release();
  const started = Date.now();
  const child: ChildProcess = spawn(join(home, "bin", "kc.sh"), args, {
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid ?? -1;
  if (pid > 0) killGroupOnExit(pid);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (exitCode === undefined && pid > 0) {
        signalGroup(pid, "SIGTERM");
        const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
        // kc.sh may be gone before its JVM: make sure nothing of the group is left.
        signalGroup(pid, "SIGKILL");
      }
      groups.delete(pid);
      log.end();
      if (process.env.PORTCULLIS_KEEP_E2E_LOGS === undefined) await rm(dir, { recursive: true, force: true });
    })());

  try {
    await waitForDiscovery(url, timeoutMs, () => exitCode);
  } catch (error) {
    const tail = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-20).join("\n");
    await stop();
    throw new Error(`${(error as Error).message}\n--- keycloak log (${logFile}) ---\n${tail}`);
  }
  return { url, port, pid, admin, startupMs: Date.now() - started, logFile, stop };
}

/** Keycloak answers 503 while it bootstraps after binding its port: wait for the master realm. */
async function waitForDiscovery(
  url: string,
  timeoutMs: number,
  exitCode: () => number | null | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const code = exitCode();
    if (code !== undefined) throw new Error(`Keycloak exited with code ${code} before it was ready`);
    try {
      const res = await fetch(`${url}/realms/master/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(2000),
      });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`Keycloak did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
