// Reads a route's denial page file (`routes[].denial.htmlFile`): UTF-8 text within the page limit,
// for check-config (a problem with the key path) and for the pipeline (which refuses to start
// without it rather than show no page). Read once per config generation, never per request.
import { readFileSync } from "node:fs";
import type { ConfigRule } from "../config/ConfigRule.ts";
import { keyPath } from "../config/keyPath.ts";
import type { RouteConfig } from "../config/PortcullisConfig.ts";
import { MAX_DENIAL_HTML_BYTES } from "../config/routeAnswerSchema.ts";

export type DenialPageRead =
  { readonly ok: true; readonly html: string } | { readonly ok: false; readonly reason: string };

export function readDenialPage(path: string): DenialPageRead {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (fault) {
    return { ok: false, reason: `cannot be read (${(fault as NodeJS.ErrnoException).code ?? "error"})` };
  }
  if (bytes.length > MAX_DENIAL_HTML_BYTES)
    return { ok: false, reason: `is ${bytes.length} bytes; at most ${MAX_DENIAL_HTML_BYTES}` };
  const html = bytes.toString("utf8");
  if (!Buffer.from(html, "utf8").equals(bytes)) return { ok: false, reason: "is not UTF-8 text" };
  return { ok: true, html };
}

/** check-config: every page file can be read and fits. */
export const checkDenialFiles: ConfigRule = (config, { problems }) => {
  (config.routes ?? []).forEach((route, index) => {
    const file = route?.denial?.htmlFile;
    if (typeof file !== "string") return;
    const read = readDenialPage(file);
    if (!read.ok)
      problems.push({
        path: keyPath(keyPath(keyPath("routes", index), "denial"), "htmlFile"),
        message: `${read.reason}: point it at a readable HTML file`,
      });
  });
};

/** The routes with each page file read into `html`; throws when one cannot be (checked before, so a race). */
export function withDenialFiles(routes: readonly RouteConfig[]): readonly RouteConfig[] {
  return routes.map((route) => {
    const file = route.denial?.htmlFile ?? null;
    if (file === null) return route;
    const read = readDenialPage(file);
    if (!read.ok) throw new Error(`routes: ${route.name} denial.htmlFile ${read.reason}`);
    return { ...route, denial: { ...route.denial!, html: read.html } };
  });
}
