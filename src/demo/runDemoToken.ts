// `portcullis demo token [--scope S]... [--client NAME] [--user NAME]`: prints an access token
// from the running demo's IdP, alone on the last line of stdout. Client tokens come from the
// client-credentials grant (demo-cli by default, or demo-batch); user tokens from the demo's
// loopback-only mint endpoint. Scopes default to api.read; each --scope replaces that default.

import { demoDir, readDemoState } from "./demoState.ts";
import type { DemoState } from "./demoState.ts";
import { DEMO_CLIENT_ID, DEMO_WEB_CLIENT_ID, fetchClientCredentialsToken } from "./startDevIdp.ts";

/** What `demo token` asks for when no --scope is given (the demo's /api/ route wants it). */
export const DEFAULT_TOKEN_SCOPES = ["api.read"] as const;

interface TokenArgs {
  scopes: string[];
  client: string | undefined;
  user: string | undefined;
}

export async function runDemoToken(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(
      `portcullis demo token: ${args}\nUsage: portcullis demo token [--scope S]... [--client NAME] [--user NAME]\n`,
    );
    return 2;
  }
  const dir = demoDir();
  const state = await readDemoState(dir);
  if (state === undefined || !isAlive(state.pid)) {
    process.stderr.write("portcullis demo token: the demo is not running. Start it first with: bin/portcullis demo\n");
    return 1;
  }
  try {
    const token =
      args.user === undefined ? await clientToken(state, args) : await userToken(state, args.user, args.scopes);
    process.stdout.write(`${token}\n`);
    return 0;
  } catch (error) {
    const message =
      (error as Error).message === "fetch failed"
        ? `could not reach the demo IdP at ${state.issuer}; is the demo still running?`
        : (error as Error).message;
    process.stderr.write(`portcullis demo token: ${message}\n`);
    return 1;
  }
}

function parseArgs(argv: readonly string[]): TokenArgs | string {
  const args: TokenArgs = { scopes: [], client: undefined, user: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const [name, inline] =
      flag.startsWith("--") && flag.includes("=")
        ? [flag.slice(0, flag.indexOf("=")), flag.slice(flag.indexOf("=") + 1)]
        : [flag, undefined];
    if (name !== "--scope" && name !== "--client" && name !== "--user")
      return `unknown argument ${JSON.stringify(flag)}`;
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") return `${name} needs a value`;
    if (name === "--scope") args.scopes.push(...value.split(" ").filter(Boolean));
    else if (name === "--client") args.client = value;
    else args.user = value;
  }
  if (args.client !== undefined && args.user !== undefined)
    return "--client and --user cannot be combined (user tokens are the browser client's)";
  return args;
}

async function clientToken(state: DemoState, args: TokenArgs): Promise<string> {
  const name = args.client ?? DEMO_CLIENT_ID;
  const machines = Object.keys(state.clients).filter((id) => id !== DEMO_WEB_CLIENT_ID);
  if (name === DEMO_WEB_CLIENT_ID)
    throw new Error(
      `${name} is the demo's browser client; use --user NAME for a user's token, or --client ${machines.join("|")}`,
    );
  const client = Object.hasOwn(state.clients, name) ? state.clients[name] : undefined;
  if (client === undefined)
    throw new Error(`unknown demo client ${JSON.stringify(name)} (known: ${machines.join(", ")})`);
  return fetchClientCredentialsToken({
    tokenEndpoint: state.tokenEndpoint,
    clientId: client.id,
    clientSecret: client.secret,
    scopes: args.scopes.length > 0 ? args.scopes : [...DEFAULT_TOKEN_SCOPES],
    resource: state.resource,
  });
}

async function userToken(state: DemoState, user: string, scopes: readonly string[]): Promise<string> {
  const response = await fetch(state.mintUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${state.mintSecret}`, "content-type": "application/json" },
    body: JSON.stringify({
      user,
      scopes: [...new Set(["openid", ...(scopes.length > 0 ? scopes : DEFAULT_TOKEN_SCOPES)])],
    }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await response.json()) as { access_token?: string; error_description?: string; error?: string };
  if (!response.ok || typeof body.access_token !== "string") {
    throw new Error(`the demo IdP refused: ${body.error_description ?? body.error ?? response.status}`);
  }
  return body.access_token;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
