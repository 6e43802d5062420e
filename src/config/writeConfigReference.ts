// Rewrites the generated configuration reference inside docs/configuration.md, between the markers
// `<!-- config-reference:start -->` and `<!-- config-reference:end -->`. Run:
// `node src/config/writeConfigReference.ts`. Creates the page (heading + markers) when missing.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderConfigReference } from "./renderConfigReference.ts";

export const CONFIG_REFERENCE_START = "<!-- config-reference:start -->";
export const CONFIG_REFERENCE_END = "<!-- config-reference:end -->";

/** The text between the markers, or null when the page lacks them (or has them out of order). */
export function extractConfigReference(readme: string): string | null {
  const start = readme.indexOf(CONFIG_REFERENCE_START);
  const end = readme.indexOf(CONFIG_REFERENCE_END);
  if (start < 0 || end < start) return null;
  return readme.slice(start + CONFIG_REFERENCE_START.length, end).replace(/^\n/, "");
}

/** The page's text with the block replaced (or appended with a heading when there are no markers). */
export function replaceConfigReference(readme: string, reference: string): string {
  const block = `${CONFIG_REFERENCE_START}\n${reference}${CONFIG_REFERENCE_END}`;
  const start = readme.indexOf(CONFIG_REFERENCE_START);
  const end = readme.indexOf(CONFIG_REFERENCE_END);
  if (start < 0 || end < start) {
    const prefix = readme === "" ? "" : `${readme.replace(/\n*$/, "")}\n\n`;
    return `${prefix}## Configuration reference\n\n${block}\n`;
  }
  return readme.slice(0, start) + block + readme.slice(end + CONFIG_REFERENCE_END.length);
}

export const CONFIG_REFERENCE_PATH = fileURLToPath(new URL("../../docs/configuration.md", import.meta.url));

export function writeConfigReference(readmePath: string = CONFIG_REFERENCE_PATH): void {
  const readme = existsSync(readmePath) ? readFileSync(readmePath, "utf8") : "";
  writeFileSync(readmePath, replaceConfigReference(readme, renderConfigReference()));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeConfigReference();
  console.log(`config reference written to ${CONFIG_REFERENCE_PATH}`);
}
