// `session.keysFile`: the sealing keys read from a file (a Kubernetes Secret mounted as a volume), one
// per line, the first sealing and all unsealing as in `session.keys`. Read on every load, so a reload
// (`--watch` sees the file change) rotates the keys without a rollout. Problems never quote a line.
import { readFileSync, statSync } from "node:fs";
import type { ConfigIssue } from "./ConfigIssue.ts";

const PATH = "session.keysFile";

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const MAX_BYTES = 64 * 1024;

export interface KeysFileResult {
  /** The raw config with `session.keys` filled from the file (unchanged without a keysFile). */
  readonly value: unknown;
  readonly problems: ConfigIssue[];
}

/** Fills `session.keys` of raw config data from `session.keysFile` when it names a file. */
export function readSessionKeysFile(raw: unknown): KeysFileResult {
  if (!isRecord(raw)) return { value: raw, problems: [] };
  const session = raw["session"];
  if (!isRecord(session) || typeof session["keysFile"] !== "string" || session["keysFile"] === "") {
    return { value: raw, problems: [] };
  }
  const file = session["keysFile"];
  if (session["keys"] !== undefined) {
    return {
      value: raw,
      problems: [{ path: PATH, message: "set either session.keys or session.keysFile, not both" }],
    };
  }
  const read = readKeys(file);
  if (typeof read === "string") return { value: raw, problems: [{ path: PATH, message: read }] };
  return { value: { ...raw, session: { ...session, keys: read } }, problems: [] };
}

/** The keys, or what is wrong with the file (by line number: the content is secret). */
function readKeys(file: string): string[] | string {
  let text: string;
  try {
    if (statSync(file).size > MAX_BYTES) return `${file} is larger than 64 KiB: it should hold one key per line`;
    text = readFileSync(file, "utf8");
  } catch (error) {
    return `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"}): mount the Secret that holds the keys there, readable by Portcullis`;
  }
  const keys: string[] = [];
  const lines = text.split("\n");
  for (const [index, line] of lines.entries()) {
    const key = line.trim();
    if (key === "" || key.startsWith("#")) continue;
    if (key.length < 32) {
      return `line ${index + 1} of ${file} is shorter than 32 characters: each line is one key, generated with \`openssl rand -base64 32\``;
    }
    keys.push(key);
  }
  if (keys.length === 0) return `${file} holds no key: write one per line, the sealing key first`;
  return keys;
}
