// Portcullis runs with a bounded young generation and a slower-growing old one however it is started:
// bin/portcullis adds the flags, the container image sets the first in NODE_OPTIONS and the second
// (which NODE_OPTIONS may not carry) in its entrypoint, the Helm chart's nodeOptions carries the same
// young generation, and the benchmark starts Portcullis with bin/portcullis's flags.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chartNodeOptions } from "../../bench/chartNodeOptions.ts";
import { productNodeFlags } from "../../bench/productNodeFlags.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

describe("Portcullis's default node flags", () => {
  it("bound the young generation and the old generation's growth in bin/portcullis", () => {
    expect(productNodeFlags()).toEqual(["--max-semi-space-size=16", "--heap-growing-percent=150"]);
  });

  it("are the container image's NODE_OPTIONS and entrypoint flags", () => {
    const dockerfile = readFileSync(`${ROOT}deploy/Dockerfile`, "utf8");
    const env = /^ENV .*\bNODE_OPTIONS=(\S+)/m.exec(dockerfile);
    const entrypoint = /^ENTRYPOINT \["node", "([^"]+)"/m.exec(dockerfile);
    expect([env?.[1], entrypoint?.[1]]).toEqual(productNodeFlags());
  });

  it("match the young generation the Helm chart sets", () => {
    const semi = productNodeFlags().find((flag) => flag.startsWith("--max-semi-space-size="));
    expect(chartNodeOptions(ROOT)).toContain(semi);
  });
});
