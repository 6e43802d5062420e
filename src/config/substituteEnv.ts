// Replaces `${NAME}` in every string value of parsed YAML data with the environment variable NAME;
// `$${` stands for a literal `${`. Keys are left alone. An unset variable is a problem at its key
// path; substituted paths are returned so that messages never quote a value that may be a secret.

import type { ConfigIssue } from "./ConfigIssue.ts";
import { keyPath } from "./keyPath.ts";
import { setOwn } from "./setOwn.ts";

export interface SubstitutionResult {
  readonly value: unknown;
  readonly problems: ConfigIssue[];
  /** Key paths whose value came (partly) from the environment. */
  readonly substitutedPaths: Set<string>;
  /** The variables each substituted path's value came from, in the order written (names only). */
  readonly variablesAt: Map<string, string[]>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv): SubstitutionResult {
  const problems: ConfigIssue[] = [];
  const substitutedPaths = new Set<string>();
  const variablesAt = new Map<string, string[]>();
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === "string") return substituteString(node, path);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, keyPath(path, i)));
    if (typeof node === "object" && node !== null) {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) setOwn(out, key, walk(child, keyPath(path, key)));
      return out;
    }
    return node;
  };
  const substituteString = (text: string, path: string): string => {
    const where = path === "" ? "(root)" : path;
    let out = "";
    let i = 0;
    while (i < text.length) {
      if (text.startsWith("$${", i)) {
        out += "${";
        i += 3;
      } else if (text.startsWith("${", i)) {
        const end = text.indexOf("}", i + 2);
        if (end < 0) {
          problems.push({ path: where, message: 'unterminated "${" (write "$${" for a literal "${")' });
          return text;
        }
        const name = text.slice(i + 2, end);
        if (!NAME.test(name)) {
          problems.push({
            path: where,
            message: `invalid environment variable name ${JSON.stringify(name.slice(0, 60))}`,
          });
        } else if (env[name] === undefined) {
          problems.push({ path: where, message: `environment variable ${name} is not set` });
        } else {
          out += env[name];
          substitutedPaths.add(path);
          variablesAt.set(path, [...(variablesAt.get(path) ?? []), name]);
        }
        i = end + 1;
      } else {
        out += text[i];
        i += 1;
      }
    }
    return out;
  };
  return { value: walk(value, ""), problems, substitutedPaths, variablesAt };
}
