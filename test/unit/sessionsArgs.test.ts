// `portcullis sessions` arguments: list and revoke with their flags, the admin URL's default, and a
// usage error (naming the flag) for anything else, so a mistyped flag never widens a revoke and the
// token is never taken from argv.
import { describe, expect, it } from "vitest";
import { parseSessionsArgs } from "../../src/cli/parseSessionsArgs.ts";

const ADMIN = new URL("http://127.0.0.1:9464");

describe("portcullis sessions arguments", () => {
  it("list a user's sessions, at one provider or all, on the default admin listener", () => {
    expect(parseSessionsArgs(["list", "--sub", "alice"])).toEqual({
      request: { kind: "list", sub: "alice", provider: null },
      admin: ADMIN,
      json: false,
    });
    expect(
      parseSessionsArgs(["list", "--sub", "alice", "--provider", "corp", "--json", "--admin", "http://10.0.0.1:9000"]),
    ).toEqual({
      request: { kind: "list", sub: "alice", provider: "corp" },
      admin: new URL("http://10.0.0.1:9000"),
      json: true,
    });
  });

  it("revoke one session by handle, or every session of a user", () => {
    expect(parseSessionsArgs(["revoke", "--session", "corp.abcdefghijklmnop"])).toEqual({
      request: { kind: "end_session", handle: "corp.abcdefghijklmnop" },
      admin: ADMIN,
      json: false,
    });
    expect(parseSessionsArgs(["revoke", "--sub", "alice", "--provider", "corp"])).toEqual({
      request: { kind: "end_user", sub: "alice", provider: "corp" },
      admin: ADMIN,
      json: false,
    });
  });

  it.each([
    [[], "give a subcommand: list or revoke"],
    [["show"], "give a subcommand: list or revoke"],
    [["list"], "list needs --sub SUB"],
    [["list", "--sub"], "--sub needs a value"],
    [["list", "--sub", ""], "--sub needs a value"],
    [["list", "--sub", "a", "--sub", "b"], "--sub is given twice"],
    [["list", "--session", "corp.x"], "list takes --sub (and --provider), not --session"],
    [["list", "--sub", "a", "--all"], 'unknown argument "--all"'],
    [["list", "--sub", "a", "extra"], "unexpected value (not shown): give each value after its flag"],
    [["list", "--sub=alice"], 'unknown argument "--sub"'],
    [["revoke"], "revoke needs --session HANDLE (from sessions list) or --sub SUB"],
    [["revoke", "--provider", "corp"], "revoke needs --session HANDLE (from sessions list) or --sub SUB"],
    [
      ["revoke", "--session", "h", "--sub", "a"],
      "revoke takes either --session HANDLE or --sub SUB [--provider P], not both",
    ],
    [
      ["revoke", "--sub", "a", "--token", "x"],
      "the admin token is read from PORTCULLIS_ADMIN_TOKEN, never an argument",
    ],
    [
      ["list", "--sub", "a", "--admin", "ftp://host"],
      "--admin must be the admin listener's http(s) URL, e.g. http://127.0.0.1:9464",
    ],
    [
      ["list", "--sub", "a", "--admin", "not a url"],
      "--admin must be the admin listener's http(s) URL, e.g. http://127.0.0.1:9464",
    ],
  ])("refuse %j: %s", (argv, error) => {
    expect(parseSessionsArgs(argv)).toEqual({ error });
  });

  it("never echo a value a refused argument carries, such as a pasted admin token", () => {
    const token = "s3cr3t-admin-token-0123456789abcdefghij";
    for (const argv of [
      ["revoke", "--sub", "a", `--token=${token}`],
      ["revoke", "--sub", "a", token],
      ["revoke", "--sub", "a", `--admin-token=${token}`],
    ]) {
      const parsed = parseSessionsArgs(argv);
      expect(parsed).toHaveProperty("error");
      expect(JSON.stringify(parsed)).not.toContain(token);
    }
    expect(parseSessionsArgs(["revoke", "--sub", "a", `--token=${token}`])).toEqual({
      error: "the admin token is read from PORTCULLIS_ADMIN_TOKEN, never an argument",
    });
  });

  it("answer --help for help", () => {
    expect(parseSessionsArgs(["--help"])).toEqual({ help: true });
    expect(parseSessionsArgs(["list", "-h"])).toEqual({ help: true });
  });
});
