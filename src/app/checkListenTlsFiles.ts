// check-config (and serve, before it listens): the files of `listen.tls` can be read, the key is the
// certificate's, the client CA bundle parses; a certificate outside its validity period is a warning
// (Portcullis still starts: a renewed one may be on its way, and the listeners pick it up).
import type { ConfigRule } from "../config/ConfigRule.ts";
import { listenerTlsFiles } from "./listenerTlsFiles.ts";
import { loadListenerTls } from "./loadListenerTls.ts";

export const checkListenTlsFiles: ConfigRule = (config, { problems, warnings }) => {
  const files = listenerTlsFiles(config.listen?.tls);
  if (files === null) return;
  const loaded = loadListenerTls(files, Date.now());
  const issues = loaded.ok ? [] : loaded.problems;
  for (const issue of issues) problems.push({ path: `listen.tls.${issue.key}`, message: issue.message });
  for (const issue of loaded.ok ? loaded.tls.warnings : []) {
    warnings.push({ path: `listen.tls.${issue.key}`, message: issue.message });
  }
};
