// Preloaded into a child process (`node --import` this file): appends the URL of every module the
// process loads, ESM and CommonJS alike (module.registerHooks sees both, in the loading thread), to
// the file named by PORTCULLIS_LOADED_MODULES_FILE, one a line, as it is loaded. Node's own
// modules load outside those hooks (undici behind fetch and Headers): on SIGUSR2 the process writes
// process.moduleLoadList, one a line, to that file name + ".internal".
import { appendFileSync, renameSync, writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const file = process.env["PORTCULLIS_LOADED_MODULES_FILE"];
if (file !== undefined) {
  const seen = new Set<string>();
  registerHooks({
    // Which module asked for a package (bare specifiers only), to `file` + ".imports" as
    // "<specifier> <importer URL>", so a test can tell who brought a package in.
    resolve(specifier, context, nextResolve) {
      if (!/^(node:|\.|\/|file:)/.test(specifier) && !seen.has(`${specifier} ${context.parentURL}`)) {
        seen.add(`${specifier} ${context.parentURL}`);
        appendFileSync(`${file}.imports`, `${specifier} ${context.parentURL ?? "(entry)"}\n`);
      }
      return nextResolve(specifier, context);
    },
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

if (file !== undefined) {
  process.on("SIGUSR2", () => {
    const list = (process as unknown as { moduleLoadList: readonly string[] }).moduleLoadList;
    // Renamed into place, so a reader waiting for the file never sees half of it.
    writeFileSync(`${file}.internal.part`, `${list.join("\n")}\n`);
    renameSync(`${file}.internal.part`, `${file}.internal`);
  });
}
