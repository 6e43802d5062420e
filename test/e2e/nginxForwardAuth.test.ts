// nginx (Debian's) with auth_request in front of the echo upstream, configured by the shipped
// examples/nginx/portcullis.conf, asking Portcullis's forward-auth endpoint: the behaviours every
// front proxy shows (test/harness/forwardAuthScenarios.ts: bearer tokens, header stripping, a
// whole browser login in Chromium, a client's own X-Original-URI ignored, the endpoint unreachable
// from outside). The example passes `nginx -t` as shipped.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import {
  describeBearerTokensThrough,
  describeBrowserLoginThrough,
  describeClientForwardingIgnored,
  describeIdentityHeadersStripped,
  describeLoginRedirectThrough,
  describeSteeringHeadersRemoved,
  upstreamRequestsFor,
  useForwardAuthStack,
} from "../harness/forwardAuthScenarios.ts";
import { describeTargetsServedAsDecided } from "../harness/describeTargetsServedAsDecided.ts";
import { createRawHttpsPool } from "../harness/createRawHttpsPool.ts";
import { testNginxConfig } from "../harness/startNginx.ts";
import { NGINX_EXAMPLE, renderNginxExample, startNginxStack } from "../harness/startNginxStack.ts";

const { stack, browser } = useForwardAuthStack(startNginxStack, { browser: true });

describe("the shipped nginx example", () => {
  it("passes nginx -t with only its marked values changed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "portcullis-nginx-t-"));
    try {
      const certDir = join(dir, "cert");
      const cert = await ensureDemoCertificate(certDir);
      const site = renderNginxExample(await readFile(NGINX_EXAMPLE, "utf8"), {
        listen: "127.0.0.1:1",
        certFile: cert.certFile,
        keyFile: cert.keyFile,
        authPort: 8181,
        upstreamPort: 8080,
      });
      const result = await testNginxConfig(dir, site);
      expect(result.output).toContain("test is successful");
      expect(result.ok).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describeBearerTokensThrough("nginx", stack);
describeIdentityHeadersStripped("nginx", stack);
describeLoginRedirectThrough("nginx", stack);
describeSteeringHeadersRemoved("nginx", stack);
describeTargetsServedAsDecided("nginx", stack);
describeBrowserLoginThrough("nginx", stack, browser);
describeClientForwardingIgnored("nginx", stack, {
  "x-original-uri": "/public/ok",
  "x-original-method": "GET",
  "x-forwarded-host": "other.example",
});

describe("the host nginx passes on", () => {
  // nginx's $host is the request line's host of an absolute-form request; Portcullis decides on
  // X-Forwarded-Host, the Host header ($http_host): the application must get that one.
  it("is the Host header Portcullis decided on, also for an absolute-form request naming another host", async () => {
    const pool = createRawHttpsPool({ port: stack().proxyPort, ca: stack().ca, connections: 1 });
    try {
      const host = `localhost:${stack().proxyPort}`;
      const res = await pool.send({ target: "https://admin.example.com/public/absolute", host });
      expect(res.status).toBe(200);
      expect(upstreamRequestsFor(stack(), "/public/absolute").at(-1)?.headers["host"]).toBe(host);
    } finally {
      pool.close();
    }
  });
});
