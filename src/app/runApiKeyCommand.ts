// `portcullis apikey new --client ID [--scope S]... [--role R]...`: prints a fresh API key once and the
// entry to paste into `apiKeys.file` (a list) or `apiKeys.keys` (docs/security.md, API keys). Here
// rather than in cli/, which stays a dispatcher. Exit 0 done, 2 a usage error (why on stderr).
import { parseArgs } from "node:util";
import { createApiKeyEntry } from "./createApiKeyEntry.ts";

export interface ApiKeyCommandIo {
  out(text: string): void;
  err(text: string): void;
}

const USAGE = `Usage:
  portcullis apikey new --client ID [--scope S]... [--role R]...
      prints a new API key (once: it is kept nowhere) and its entry for apiKeys.file or apiKeys.keys
`;

const processIo: ApiKeyCommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export function runApiKeyCommand(argv: readonly string[], io: ApiKeyCommandIo = processIo): number {
  const [verb, ...rest] = argv;
  if (verb === "--help" || verb === "-h" || verb === "help") {
    io.out(USAGE);
    return 0;
  }
  if (verb !== "new")
    return usageError(io, verb === undefined ? "name what to do: new" : `unknown verb ${JSON.stringify(verb)}`);
  let values: { client?: string; scope?: string[]; role?: string[] };
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: {
        client: { type: "string" },
        scope: { type: "string", multiple: true },
        role: { type: "string", multiple: true },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return usageError(io, error instanceof Error ? error.message : "bad arguments");
  }
  if (values.client === undefined) return usageError(io, "--client ID is required");
  const made = createApiKeyEntry({ clientId: values.client, scopes: values.scope ?? [], roles: values.role ?? [] });
  if (!made.ok) return usageError(io, made.problems.join("; "));
  io.out(
    [
      `# The API key of ${made.entry.clientId}: hand it to the client now; it is kept nowhere and cannot be shown again.`,
      `key: ${made.key}`,
      "# Its entry (the key's SHA-256 digest, never the key) for the apiKeys.file list or apiKeys.keys:",
      `- ${JSON.stringify(made.entry)}`,
      "",
    ].join("\n"),
  );
  return 0;
}

function usageError(io: ApiKeyCommandIo, why: string): number {
  io.err(`portcullis apikey: ${why}\n\n${USAGE}`);
  return 2;
}
