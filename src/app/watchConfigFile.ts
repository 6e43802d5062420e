// `serve --watch`: calls back when the config file's content changes, or that of a file the config
// reads its values from (`session.keysFile`, the API keys file, denial pages), through watchFiles: a rename over a file and a
// Kubernetes ConfigMap or Secret update (a symlink swap) are seen, a burst of events is one callback.
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { filesReadByConfig } from "./filesReadByConfig.ts";
import { watchFiles, type FilesWatcher, type WatchOptions } from "./watchFiles.ts";

export type ConfigFileWatcher = FilesWatcher;
export type { WatchOptions };

export function watchConfigFile(file: string, onChange: () => void, options: WatchOptions = {}): ConfigFileWatcher {
  return watchFiles([file], onChange, options);
}

/**
 * The config file and the files its values are read from, as the config in use names them: the session
 * keys file, and the files it reads at each load (the API keys file, routes' denial pages).
 */
export function configSourceFiles(file: string, config: PortcullisConfig): string[] {
  const keysFile = config.session.keysFile;
  return [file, ...(keysFile === null || keysFile === undefined ? [] : [keysFile]), ...filesReadByConfig(config)];
}
