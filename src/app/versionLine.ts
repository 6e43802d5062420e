// The line `portcullis --version` prints: `portcullis <version> (commit <sha>) node <v>`, so a bug
// report or a running pod's log names exactly what was built and what runs it.
import { readBuildInfo } from "../observability/readBuildInfo.ts";

export function versionLine(): string {
  const { version, commit, node } = readBuildInfo();
  return `portcullis ${version} (commit ${commit}) node ${node}`;
}
