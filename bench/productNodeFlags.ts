// The node flags `bin/portcullis` starts Portcullis with (its DEFAULT_NODE_FLAGS line: the bounded
// young generation), read from the script itself, so the bench measures the process a user runs.
// The container image sets the same flags in NODE_OPTIONS (test/unit/productNodeFlags.test.ts).
// Read from this checkout's script even when a bench runs an older tree, so both sides of a
// comparison run with the same flags.
import { readFileSync } from "node:fs";

export function productNodeFlags(): string[] {
  const script = readFileSync(new URL("../bin/portcullis", import.meta.url), "utf8");
  const line = /^DEFAULT_NODE_FLAGS="([^"]*)"$/m.exec(script);
  if (line === null) throw new Error('bin/portcullis has no DEFAULT_NODE_FLAGS="..." line');
  return line[1]!.split(/\s+/).filter((flag) => flag !== "");
}
