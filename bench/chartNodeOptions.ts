// The node flags the Helm chart gives Portcullis (values `nodeOptions`, the container's NODE_OPTIONS):
// the memory phase's capped run uses the chart's young-generation size beside --heap-cap, so the
// figure it reports is what a pod with the chart's 256Mi limit pays, not a bare old-space cap.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/** The chart's default NODE_OPTIONS, one flag per element ([] when the chart sets none). */
export function chartNodeOptions(repoRoot: string): string[] {
  const values = parse(readFileSync(join(repoRoot, "deploy/helm/portcullis/values.yaml"), "utf8")) as {
    nodeOptions?: string;
  };
  return (values.nodeOptions ?? "").split(/\s+/).filter((flag) => flag !== "");
}

/** The chart's flags but its old-space cap, which the bench's --heap-cap sets. */
export function chartYoungGenerationFlags(repoRoot: string): string[] {
  return chartNodeOptions(repoRoot).filter((flag) => !flag.startsWith("--max-old-space-size="));
}
