// Writes docs/errors.md from the error registry. Run: `node src/errors/writeErrorReference.ts`.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderErrorReference } from "./renderErrorReference.ts";

export const ERROR_REFERENCE_PATH = fileURLToPath(new URL("../../docs/errors.md", import.meta.url));

export function writeErrorReference(path: string = ERROR_REFERENCE_PATH): void {
  writeFileSync(path, renderErrorReference());
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeErrorReference();
  console.log(`error reference written to ${ERROR_REFERENCE_PATH}`);
}
