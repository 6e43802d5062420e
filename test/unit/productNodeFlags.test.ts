// Portcullis runs with a bounded young generation however it is started: bin/portcullis adds the
// flag, the container image sets it in NODE_OPTIONS, the Helm chart's nodeOptions carries the same
// size, and the benchmark starts Portcullis with bin/portcullis's flags.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chartNodeOptions } from "../../bench/chartNodeOptions.ts";
import { productNodeFlags } from "../../bench/productNodeFlags.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

describe("Portcullis's default node flags", () => {
  it("bound the young generation in bin/portcullis", () => {
    expect(productNodeFlags()).toEqual(["--max-semi-space-size=16"]);
  });

  it("are the container image's NODE_OPTIONS", () => {
    const dockerfile = readFileSync(`${ROOT}deploy/Dockerfile`, "utf8");
    const env = /^ENV .*\bNODE_OPTIONS=(\S+)/m.exec(dockerfile);
    expect(env?.[1]).toBe(productNodeFlags().join(" "));
  });

  it("match the young generation the Helm chart sets", () => {
    const semi = productNodeFlags().find((flag) => flag.startsWith("--max-semi-space-size="));
    expect(chartNodeOptions(ROOT)).toContain(semi);
  });
});
