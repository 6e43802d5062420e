// Reads deploy/Dockerfile and .dockerignore the way Docker does, for the tests that check the image
// without a Docker engine. Covers the subset our files use: stages, line continuations, exec-form
// JSON arrays, COPY flags, `ENV k=v`, and .dockerignore globs with `!` exceptions (last match wins).

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly base: string;
  readonly name: string | null;
  readonly instructions: readonly Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const stages: { base: string; name: string | null; instructions: Instruction[] }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = (lines[i] as string).trim();
    if (logical === "" || logical.startsWith("#")) continue;
    // A trailing backslash continues the instruction; comment lines inside it are dropped.
    while (logical.endsWith("\\") && i + 1 < lines.length) {
      i++;
      const next = (lines[i] as string).trim();
      logical = logical.slice(0, -1).trimEnd() + (next.startsWith("#") ? "" : ` ${next}`);
    }
    const match = /^(\S+)\s*(.*)$/s.exec(logical);
    if (match === null) continue;
    const keyword = (match[1] as string).toUpperCase();
    const args = (match[2] as string).trim();
    if (keyword === "FROM") {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (from === null) throw new Error(`line ${start + 1}: cannot read FROM ${args}`);
      stages.push({ base: from[1] as string, name: from[2] ?? null, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (keyword === "ARG") continue;
      throw new Error(`line ${start + 1}: ${keyword} before the first FROM`);
    }
    stage.instructions.push({ keyword, args, line: start + 1 });
  }
  return stages;
}

/** The JSON array of an exec-form ENTRYPOINT/CMD/RUN, or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith("[")) return null;
  const value: unknown = JSON.parse(args);
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new Error(`not an exec form: ${args}`);
  return value;
}

/** The last instruction with this keyword in the stage (Docker uses the last ENTRYPOINT/CMD/USER). */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

export function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

export interface CopySpec {
  readonly from: string | null;
  readonly sources: readonly string[];
  readonly dest: string;
}

export function parseCopy(args: string): CopySpec {
  const words = execForm(args) ?? args.split(/\s+/);
  let from: string | null = null;
  const rest: string[] = [];
  for (const word of words) {
    if (word.startsWith("--from=")) from = word.slice("--from=".length);
    else if (word.startsWith("--"))
      continue; // --chown, --chmod, --link: no effect on which files land where
    else rest.push(word);
  }
  if (rest.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1) as string };
}

/** `ENV A=1 B=2` (the legacy `ENV A 1` form too); values may be double-quoted. */
export function parseEnv(args: string): Record<string, string> {
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(args);
  if (legacy !== null) return { [legacy[1] as string]: (legacy[2] as string).trim() };
  const env: Record<string, string> = {};
  for (const pair of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = pair[2] as string;
    env[pair[1] as string] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return env;
}

export interface Healthcheck {
  readonly options: Readonly<Record<string, string>>;
  readonly command: readonly string[];
}

export function parseHealthcheck(args: string): Healthcheck {
  const match = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$/s.exec(args);
  if (match === null) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  const options: Record<string, string> = {};
  for (const option of (match[1] as string).matchAll(/--([a-z-]+)=(\S+)/g))
    options[option[1] as string] = option[2] as string;
  const command = execForm(match[2] as string);
  if (command === null) throw new Error("HEALTHCHECK CMD is not in exec form");
  return { options, command };
}

/** A .dockerignore matcher: `isIgnored("src/cli/main.ts")`; paths are relative to the context, with `/`. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, "").replace(/\/+$/, "");
      const source = pattern
        .split("/")
        .map((part) =>
          part === "**"
            ? ".*"
            : part
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, "[^/]*")
                .replace(/\?/g, "[^/]"),
        )
        .join("/");
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  return (path: string) => {
    // A pattern matches a path when it matches the path itself or one of its parent directories.
    const parts = path.split("/");
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let ignored = false;
    for (const rule of rules) if (candidates.some((c) => rule.regex.test(c))) ignored = !rule.negate;
    return ignored;
  };
}
