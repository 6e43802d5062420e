// Reads the API keys file (`apiKeys.file`): a YAML or JSON list of entries shaped like the inline
// `apiKeys.keys` ones, checked by the same schema node, digests and client ids each once. Every
// problem names the file and the entry index; a digest's place is never quoted (a key pasted there
// by mistake stays unseen), nor is any source line.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { apiKeyNode } from "./apiKeysSchema.ts";
import type { ListNode } from "./configSchema.ts";
import { INVALID, parseWithSchema } from "./parseWithSchema.ts";
import type { SchemaOutput } from "./SchemaOutput.ts";

export type ApiKeyEntry = SchemaOutput<typeof apiKeyNode>;

export type ApiKeyFileRead =
  | { readonly ok: true; readonly keys: readonly ApiKeyEntry[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Bounds what a reload reads and holds: a keys file is a few hundred bytes per key. */
export const MAX_API_KEY_FILE_BYTES = 1024 * 1024;
export const MAX_API_KEY_FILE_ENTRIES = 10_000;

const listNode = { kind: "list", items: apiKeyNode, description: "API keys" } as const satisfies ListNode;

/** The file's entries, or every problem as `<file> [index].field: message`. */
export function readApiKeyFile(file: string): ApiKeyFileRead {
  const text = readText(file);
  if (typeof text !== "string") return text;
  // uniqueKeys: a duplicated field is an error, not a silent override; no source excerpts in messages.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    const { line } = lineCounter.linePos(firstError.pos[0]);
    return refused(`${file}: is not valid YAML or JSON at line ${line} (${firstError.code})`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 0 });
  } catch {
    return refused(`${file}: is not plain YAML or JSON data (no aliases)`);
  }
  if (!Array.isArray(raw))
    return refused(`${file}: must be a list of entries ({ clientId, sha256, scopes, roles }), not ${shapeOf(raw)}`);
  if (raw.length > MAX_API_KEY_FILE_ENTRIES)
    return refused(`${file}: has ${raw.length} entries; at most ${MAX_API_KEY_FILE_ENTRIES}`);
  const issues: Array<{ path: string; message: string }> = [];
  const parsed = parseWithSchema(listNode, raw, { problems: issues, secretPaths: new Set() });
  const problems = issues.map((issue) => `${file} ${issue.path}: ${issue.message}`);
  if (parsed !== INVALID) problems.push(...duplicates(file, parsed));
  if (problems.length > 0 || parsed === INVALID) return { ok: false, problems };
  return { ok: true, keys: parsed };
}

function refused(problem: string): ApiKeyFileRead {
  return { ok: false, problems: [problem] };
}

function shapeOf(value: unknown): string {
  if (value === null || value === undefined) return "an empty document (an empty list is `[]`)";
  return typeof value === "object" ? "a mapping" : `a ${typeof value}`;
}

function readText(file: string): string | ApiKeyFileRead {
  let fd: number | undefined;
  try {
    // Non-blocking open and fstat on that descriptor: a FIFO or device put there (by mistake or on
    // purpose) is refused instead of blocking the event loop or reading without end, and the size
    // checked is that of the file read, whatever replaces the path meanwhile.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile()) return refused(`${file}: is not a regular file: point apiKeys.file at a keys file`);
    if (stat.size > MAX_API_KEY_FILE_BYTES) return refused(`${file}: is larger than 1 MiB`);
    // At most one byte past the limit is read, however much the file grew since the fstat.
    const bytes = readBounded(fd, MAX_API_KEY_FILE_BYTES + 1);
    if (bytes.length > MAX_API_KEY_FILE_BYTES) return refused(`${file}: is larger than 1 MiB`);
    const text = bytes.toString("utf8");
    if (!Buffer.from(text, "utf8").equals(bytes)) return refused(`${file}: is not UTF-8 text`);
    return text;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    return refused(`${file}: cannot be read (${code}): point apiKeys.file at a readable keys file`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readBounded(fd: number, limit: number): Buffer {
  const buffer = Buffer.alloc(limit);
  let length = 0;
  while (length < limit) {
    const n = readSync(fd, buffer, length, limit - length, null);
    if (n === 0) break;
    length += n;
  }
  return buffer.subarray(0, length);
}

/** Each digest and client id once in the file (holes left by invalid entries are skipped). */
function duplicates(file: string, keys: readonly (ApiKeyEntry | undefined)[]): string[] {
  const problems: string[] = [];
  const digests = new Map<string, number>();
  const clients = new Map<string, number>();
  keys.forEach((key, index) => {
    if (key === undefined) return;
    const digestOf = digests.get(key.sha256);
    if (digestOf !== undefined)
      problems.push(`${file} [${index}].sha256: is the digest of [${digestOf}] too: one key, one client`);
    else digests.set(key.sha256, index);
    const clientOf = clients.get(key.clientId);
    if (clientOf !== undefined)
      problems.push(`${file} [${index}].clientId: is [${clientOf}]'s client id too: give each client one key`);
    else clients.set(key.clientId, index);
  });
  return problems;
}
