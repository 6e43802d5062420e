// Preloaded into a child process (`node --import` this file): appends the URL of every module the
// process loads, ESM and CommonJS alike (module.registerHooks sees both, in the loading thread), to
// the file named by PORTCULLIS_LOADED_MODULES_FILE, one a line, as it is loaded.
import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";

const file = process.env["PORTCULLIS_LOADED_MODULES_FILE"];
if (file !== undefined) {
  const seen = new Set<string>();
  registerHooks({
    load(url, context, nextLoad) {
      const loaded = nextLoad(url, context);
      if (!seen.has(url)) {
        seen.add(url);
        appendFileSync(file, `${url}\n`);
      }
      return loaded;
    },
  });
}
