// The files besides itself a config reads at start and on each reload (the API keys file, routes'
// denial pages): what `serve --watch` follows, so that changing one reloads as changing the config does.
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";

export function filesReadByConfig(config: Pick<PortcullisConfig, "apiKeys" | "routes">): readonly string[] {
  const files = new Set<string>();
  const keysFile = config.apiKeys?.file ?? null;
  if (keysFile !== null) files.add(keysFile);
  for (const route of config.routes) {
    const page = route.denial?.htmlFile ?? null;
    if (page !== null) files.add(page);
  }
  return [...files];
}
