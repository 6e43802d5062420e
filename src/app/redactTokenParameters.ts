// A request path as `portcullis explain` shows it: the value of every query parameter some route
// reads a token from (routes[].tokenSource.query), and the API key's (apiKeys.queryParameter),
// replaced, so a token or key pasted into an explained URL is not echoed to a terminal, a CI log or a ticket.
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";

export const REDACTED = "[redacted]";

export function redactTokenParameters(
  path: string,
  config: Pick<PortcullisConfig, "routes"> & { readonly apiKeys?: PortcullisConfig["apiKeys"] },
): string {
  const names = new Set<string>();
  // An API key's parameter is redacted whether or not keys are enabled: a pasted URL may still hold one.
  if (typeof config.apiKeys?.queryParameter === "string") names.add(config.apiKeys.queryParameter);
  for (const route of config.routes)
    if (typeof route.tokenSource?.query === "string") names.add(route.tokenSource.query);
  const start = path.indexOf("?");
  if (names.size === 0 || start < 0) return path;
  const pairs = path.slice(start + 1).split("&");
  const shown = pairs.map((pair) => {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    return names.has(decodedOrRaw(key)) ? `${key}=${REDACTED}` : pair;
  });
  return `${path.slice(0, start)}?${shown.join("&")}`;
}

function decodedOrRaw(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
