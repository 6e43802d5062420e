// Writes the JSON Schema of the config to deploy/portcullis.schema.json, where example configs and
// editors (yaml-language-server, IDEs) point at it. Run: `node src/config/writeJsonSchema.ts`.
// The output is pretty-printed in the schema's own key order, so a change shows as a small diff.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { renderJsonSchema } from "./renderJsonSchema.ts";

export const JSON_SCHEMA_PATH = fileURLToPath(new URL("../../deploy/portcullis.schema.json", import.meta.url));

/** The file's exact text: two-space JSON with a final newline. */
export function renderJsonSchemaFile(): string {
  return `${JSON.stringify(renderJsonSchema(), null, 2)}\n`;
}

export function writeJsonSchema(path: string = JSON_SCHEMA_PATH): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderJsonSchemaFile());
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeJsonSchema();
  console.log(`JSON Schema written to ${JSON_SCHEMA_PATH}`);
}
