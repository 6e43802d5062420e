// `portcullis demo` and `demo token` arguments: each listener's port flag, the errors that name the
// flag, and the ports a demo resolves to when only some are given.

import { describe, expect, it } from "vitest";
import { parseDemoArgs } from "../../src/cli/parseDemoArgs.ts";
import { DEFAULT_DEMO_PORTS, resolveDemoPorts } from "../../src/demo/startDemo.ts";

describe("portcullis demo arguments", () => {
  it("take every listener's port as --flag N or --flag=N", () => {
    const args = parseDemoArgs([
      "--port",
      "9443",
      "--mtls-port",
      "9444",
      "--idp-port=9401",
      "--upstream-port",
      "9481",
      "--grpc-port",
      "9192",
      "--auth-port",
      "8182",
      "--admin-port",
      "9465",
    ]);
    expect(args).toEqual({
      command: "run",
      ports: { https: 9443, mtls: 9444, idp: 9401, upstream: 9481, grpc: 9192, auth: 8182, admin: 9465 },
    });
  });

  it("run the demo on its defaults without arguments", () => {
    expect(parseDemoArgs([])).toEqual({ command: "run", ports: {} });
  });

  it.each([
    [["--port", "x"], `--port: must be 1-65535 (got "x")`],
    [["--port", "0"], `--port: must be 1-65535 (got "0")`],
    [["--admin-port=65536"], `--admin-port: must be 1-65535 (got "65536")`],
    [["--idp-port", "-1"], `--idp-port: must be 1-65535 (got "-1")`],
    [["--port"], "--port needs a port number"],
    [["--port", "9443", "--port", "9444"], "--port is given twice"],
    [["--port", "9443", "--auth-port", "9443"], "--auth-port: 9443 is already given to --port"],
    [["--port", "9443", "--mtls-port", "9443"], "--mtls-port: 9443 is already given to --port"],
    [["--listen", "9443"], `unexpected argument "--listen"`],
  ])("refuse %j with an error naming the flag", (argv, message) => {
    expect(parseDemoArgs(argv)).toMatchObject({ command: "error", error: `portcullis demo: ${message}` });
  });

  it("show the help for --help, which lists every port flag", () => {
    expect(parseDemoArgs(["--port", "9443", "--help"])).toEqual({ command: "help" });
  });
});

describe("portcullis demo token arguments", () => {
  it("take scopes, a client or a user, and the demo's HTTPS port", () => {
    expect(parseDemoArgs(["token", "--scope", "api.read openid", "--scope=x", "--client", "demo-batch"])).toEqual({
      command: "token",
      request: { scopes: ["api.read", "openid", "x"], client: "demo-batch" },
    });
    expect(parseDemoArgs(["token", "--user", "alice", "--port", "9443"])).toEqual({
      command: "token",
      request: { scopes: [], user: "alice", port: 9443 },
    });
  });

  it("take --bound-to-cert, without a value, for a user's token bound to the demo machine's certificate", () => {
    expect(parseDemoArgs(["token", "--bound-to-cert", "--user", "alice", "--scope", "api.read"])).toEqual({
      command: "token",
      request: { scopes: ["api.read"], user: "alice", boundToCertificate: true },
    });
  });

  it.each([
    [["--port", "http"], `--port: must be 1-65535 (got "http")`],
    [["--client", "a", "--user", "b"], "--client and --user cannot be combined (user tokens are the browser client's)"],
    [["--user"], "--user needs a value"],
    [["--audience", "x"], `unknown argument "--audience"`],
    [["--bound-to-cert"], "--bound-to-cert binds a user's token: give --user NAME (e.g. --user alice --bound-to-cert)"],
    [
      ["--client", "demo-batch", "--bound-to-cert"],
      "--bound-to-cert binds a user's token: give --user NAME (e.g. --user alice --bound-to-cert)",
    ],
    [["--user", "alice", "--bound-to-cert=yes"], "--bound-to-cert takes no value"],
  ])("refuse %j", (argv, message) => {
    expect(parseDemoArgs(["token", ...argv])).toMatchObject({
      command: "error",
      error: `portcullis demo token: ${message}`,
    });
  });
});

describe("the ports a demo listens on", () => {
  it("are the documented ones on the default HTTPS port, with any given one replaced", () => {
    expect(resolveDemoPorts({})).toEqual(DEFAULT_DEMO_PORTS);
    expect(resolveDemoPorts({ admin: 9999 })).toEqual({ ...DEFAULT_DEMO_PORTS, admin: 9999 });
  });

  it("are system-chosen (0) on another HTTPS port, except those given, so a second demo never collides", () => {
    expect(resolveDemoPorts({ https: 9443 })).toEqual({
      https: 9443,
      mtls: 0,
      idp: 0,
      upstream: 0,
      grpc: 0,
      auth: 0,
      admin: 0,
    });
    expect(resolveDemoPorts({ https: 9443, idp: 9500 })).toMatchObject({ idp: 9500, grpc: 0 });
  });
});
