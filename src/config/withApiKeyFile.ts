// Adds the keys of `apiKeys.file` to the inline `apiKeys.keys`, so every config generation (start,
// each reload, check-config) carries its whole key set and a reload swaps it at once. A file that does
// not load adds its problems under `apiKeys.file` and no key; a digest or client id the inline keys
// already have is a problem too (one key, one client).
import type { ConfigIssue } from "./ConfigIssue.ts";
import type { PortcullisConfig } from "./PortcullisConfig.ts";
import { readApiKeyFile, type ApiKeyEntry } from "./readApiKeyFile.ts";

type WithApiKeys = { readonly apiKeys?: PortcullisConfig["apiKeys"] };

export function withApiKeyFile<C extends WithApiKeys>(config: C, problems: ConfigIssue[]): C {
  const section = config.apiKeys;
  const file = section?.file;
  if (section === undefined || typeof file !== "string") return config;
  const read = readApiKeyFile(file);
  if (!read.ok) {
    for (const message of read.problems) problems.push({ path: "apiKeys.file", message });
    return config;
  }
  // With other problems the inline list may have holes (entries that failed): skip them.
  const inline: readonly (ApiKeyEntry | undefined)[] = section.keys ?? [];
  read.keys.forEach((key, index) => {
    const sameDigest = inline.findIndex((other) => other?.sha256 === key.sha256);
    if (sameDigest !== -1)
      problems.push({
        path: "apiKeys.file",
        message: `${file} [${index}].sha256: is the digest of apiKeys.keys[${sameDigest}] too: one key, one client`,
      });
    const sameClient = inline.findIndex((other) => other?.clientId === key.clientId);
    if (sameClient !== -1)
      problems.push({
        path: "apiKeys.file",
        message: `${file} [${index}].clientId: is apiKeys.keys[${sameClient}]'s client id too: give each client one key`,
      });
  });
  return { ...config, apiKeys: { ...section, keys: [...inline, ...read.keys] } };
}
