// Runs Portcullis as the user would (`src/cli/main.ts serve --config FILE`, a child process) on
// ephemeral loopback ports, waits for its ready log line and for /readyz (keys loaded) to say 200.
// Browser login is configured (a client and a session key) so the same process also takes sealed
// session cookies; the bench seals them itself, so the IdP's login endpoints are never needed.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { waitForHttp200 } from "./fetchText.ts";
import { productNodeFlags } from "./productNodeFlags.ts";

export interface RunningPortcullis {
  readonly pid: number | undefined;
  readonly grpcPort: number;
  readonly adminPort: number;
}

export const BENCH_ROUTE_PATH = "/bench";

export const BENCH_CLIENT_ID = "bench-web";

export interface PortcullisBenchSetup {
  readonly issuer: string;
  readonly audience: string;
  /** The `session.keys` secret (32+ characters): the bench seals its session cookie with it. */
  readonly sessionKey: string;
  /** listen.grpcTransport; unset leaves the product's default (net). */
  readonly grpcTransport?: "grpc-js" | "http2" | "net";
  /** listen.tls with a client certificate required (mTLS, as central mode ships it); unset: plaintext. */
  readonly tls?: PortcullisTlsFiles;
}

export interface PortcullisTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA that signed Envoy's client certificate. */
  readonly clientCaFile: string;
}

export function renderPortcullisConfig(setup: PortcullisBenchSetup): string {
  // JSON is valid YAML; the one provider uses the loopback issuer, hence allowInsecureHttp. The
  // config file lives in the bench's temporary directory, removed on exit, like the key in it.
  return JSON.stringify(
    {
      listen: {
        grpc: "127.0.0.1:0",
        ...(setup.grpcTransport === undefined ? {} : { grpcTransport: setup.grpcTransport }),
        auth: "127.0.0.1:0",
        admin: "127.0.0.1:0",
        ...(setup.tls === undefined ? {} : { tls: { ...setup.tls, requireClientCertificate: true } }),
      },
      providers: {
        bench: {
          issuer: setup.issuer,
          audiences: [setup.audience],
          algorithms: ["RS256"],
          allowInsecureHttp: true,
          clientId: BENCH_CLIENT_ID,
          redirectUri: "https://app.example.com/oauth2/callback",
        },
      },
      routes: [{ name: "bench", match: { path: "/" }, auth: "required", providers: ["bench"] }],
      session: { keys: [setup.sessionKey] },
      log: { level: "info" },
    },
    null,
    2,
  );
}

export async function startPortcullis(
  group: ChildProcessGroup,
  repoRoot: string,
  workDir: string,
  setup: PortcullisBenchSetup,
  name = "portcullis",
  nodeArgs: readonly string[] = [],
): Promise<RunningPortcullis> {
  const configPath = join(workDir, `${name}.yaml`);
  writeFileSync(configPath, renderPortcullisConfig(setup), { mode: 0o600 });
  const child = group.spawn(
    name,
    process.execPath,
    [
      // The flags bin/portcullis adds, then the caller's (a later V8 flag wins).
      ...productNodeFlags(),
      ...nodeArgs,
      "--disable-warning=ExperimentalWarning",
      join(repoRoot, "src", "cli", "main.ts"),
      "serve",
      "--config",
      configPath,
    ],
    { cwd: repoRoot, role: "server", env: compileCacheEnv(repoRoot) },
  );
  const ready = await child.waitForLine((line) => {
    if (!line.includes('"portcullis ready"')) return undefined;
    const parsed = JSON.parse(line) as { grpcPort?: number; adminPort?: number };
    return parsed.grpcPort && parsed.adminPort ? { grpcPort: parsed.grpcPort, adminPort: parsed.adminPort } : undefined;
  }, 30_000);
  try {
    await waitForHttp200(`http://127.0.0.1:${ready.adminPort}/readyz`, 20_000);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${child.tail()}`);
  }
  return { pid: child.process.pid, ...ready };
}

/**
 * Node's compile cache where bin/portcullis keeps it (.cache/compile), so the bench's Portcullis
 * starts as the product's launcher starts it: after the first start, without stripping types or
 * compiling most modules again (cold start and RSS at ready are a restart's). A caller's
 * NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE wins, as in bin/portcullis.
 */
function compileCacheEnv(repoRoot: string): NodeJS.ProcessEnv {
  if (process.env["NODE_COMPILE_CACHE"] || process.env["NODE_DISABLE_COMPILE_CACHE"]) return process.env;
  return { ...process.env, NODE_COMPILE_CACHE: join(repoRoot, ".cache", "compile") };
}
