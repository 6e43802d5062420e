// Reads a YAML config file, substitutes `${ENV}` references, fills `session.keys` from
// `session.keysFile` and parses it into a PortcullisConfig. Every failure (unreadable file, YAML syntax
// with line:col, duplicate keys, unset variables, schema problems) comes back as problems, never as an
// exception; no source line is echoed (it may hold secrets).

import { readFileSync, statSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import type { ConfigIssue } from "./ConfigIssue.ts";
import type { ConfigResult } from "./ConfigResult.ts";
import type { ConfigRule } from "./ConfigRule.ts";
import { parseConfig } from "./parseConfig.ts";
import { readSessionKeysFile } from "./readSessionKeysFile.ts";
import { substituteEnv } from "./substituteEnv.ts";

const MAX_BYTES = 1024 * 1024;

function fileProblem(message: string): ConfigResult {
  return { ok: false, problems: [{ path: "(file)", message }], warnings: [] };
}

function readText(file: string): string | ConfigIssue {
  try {
    if (statSync(file).size > MAX_BYTES) return { path: "(file)", message: `${file} is larger than 1 MiB` };
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const reason =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : code || "unknown error";
    return { path: "(file)", message: `cannot read ${file}: ${reason}` };
  }
}

/** YAML messages are one line; yaml's own " at line X, column Y" suffix is replaced by our own. */
function yamlIssue(message: string, lineCounter: LineCounter, offset: number | undefined): ConfigIssue {
  const text = message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? message;
  if (offset === undefined) return { path: "(yaml)", message: text };
  const { line, col } = lineCounter.linePos(offset);
  return { path: "(yaml)", message: `line ${line}:${col}: ${text}` };
}

/** `routeRules`: as for parseConfig (app/loadCheckedConfig.ts passes core's). */
export function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv,
  routeRules: readonly ConfigRule[] = [],
): ConfigResult {
  const text = readText(file);
  if (typeof text !== "string") return fileProblem(text.message);

  const lineCounter = new LineCounter();
  // uniqueKeys rejects duplicate keys; merge allows `<<: *defaults`; prettyErrors off so that no
  // source excerpt (possibly a secret) ends up in a message.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: true, prettyErrors: false });
  const warnings = doc.warnings.map((w) => yamlIssue(w.message, lineCounter, w.pos[0]));
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.map((e) => yamlIssue(e.message, lineCounter, e.pos[0])), warnings };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return {
      ok: false,
      problems: [{ path: "(yaml)", message: (error as Error).message.split("\n")[0] ?? "invalid YAML" }],
      warnings,
    };
  }

  const substituted = substituteEnv(raw, env);
  const keys = readSessionKeysFile(substituted.value);
  const result = parseConfig(keys.value, {
    secretPaths: substituted.substitutedPaths,
    envVariables: substituted.variablesAt,
    routeRules,
  });
  const ownProblems = [...substituted.problems, ...keys.problems];
  if (result.ok && ownProblems.length === 0) return { ...result, warnings: [...warnings, ...result.warnings] };
  // An unset variable leaves an empty string behind; its own message replaces the schema's one.
  const envPaths = new Set(ownProblems.map((p) => p.path));
  const schemaProblems = result.ok ? [] : result.problems.filter((p) => !envPaths.has(p.path));
  return {
    ok: false,
    problems: [...ownProblems, ...schemaProblems],
    warnings: [...warnings, ...result.warnings],
  };
}
