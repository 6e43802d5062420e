// nginx (Debian's) with auth_request in front of the echo upstream, configured by the shipped
// examples/nginx/portcullis.conf, asking Portcullis's forward-auth endpoint: bearer tokens allowed
// and denied with Portcullis's challenge, identity headers a client sends never reaching the
// upstream, a client's own X-Original-URI ignored, the endpoint unreachable from outside, and a
// whole browser login through nginx in Chromium. The example passes `nginx -t` as shipped.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import { loginInBrowser } from "../harness/loginInBrowser.ts";
import { setCookiesOf } from "../harness/parseSetCookie.ts";
import { startBrowser, type StartedBrowser } from "../harness/startBrowser.ts";
import { testNginxConfig } from "../harness/startNginx.ts";
import { NGINX_EXAMPLE, renderNginxExample, startNginxStack, type NginxStack } from "../harness/startNginxStack.ts";

const HTML = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
const TEST_TIMEOUT = 60_000;

let stack: NginxStack;
let browser: StartedBrowser;

beforeAll(async () => {
  const [started, launched] = await Promise.allSettled([startNginxStack(), startBrowser()]);
  if (started.status === "fulfilled") stack = started.value;
  if (launched.status === "fulfilled") browser = launched.value;
  if (started.status === "rejected") throw started.reason;
  if (launched.status === "rejected") throw launched.reason;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const upstreamRequestsFor = (path: string) => stack.upstream.requests().filter((r) => r.path === path);

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

describe("bearer tokens through nginx", () => {
  it("lets a user's token with the route's scope through with its identity, the token itself not passed on", async () => {
    const token = await stack.idp.mintUserToken("alice", ["api.read"]);
    const res = await stack.request("/api/items?n=1", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const seen = upstreamRequestsFor("/api/items?n=1").at(-1);
    expect(seen?.headers["x-user-sub"]).toBe("alice");
    expect(seen?.headers["authorization"]).toBeUndefined();
  });

  it("lets a machine's token through as the client it is (x-client-id, no x-user-sub)", async () => {
    const token = await stack.idp.clientCredentialsToken(["api.read"]);
    expect((await stack.request("/api/machine", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const seen = upstreamRequestsFor("/api/machine").at(-1);
    expect(seen?.headers["x-client-id"]).toBe("demo-cli");
    expect(seen?.headers["x-user-sub"]).toBeUndefined();
  });

  it("answers a request without a token 401 with Portcullis's Bearer challenge, the upstream not asked", async () => {
    const res = await stack.request("/api/none");
    expect(res.status).toBe(401);
    expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer realm="portcullis"/);
    expect(upstreamRequestsFor("/api/none")).toHaveLength(0);
  });

  it("answers a token without the route's scope 403 insufficient_scope", async () => {
    const token = await stack.idp.clientCredentialsToken([]);
    const res = await stack.request("/api/scoped", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    expect(String(res.headers["www-authenticate"])).toContain('error="insufficient_scope"');
    expect(upstreamRequestsFor("/api/scoped")).toHaveLength(0);
  });

  it("answers a forged token 401 invalid_token", async () => {
    const res = await stack.request("/api/forged", { headers: { authorization: "Bearer a.b.c" } });
    expect(res.status).toBe(401);
    expect(String(res.headers["www-authenticate"])).toContain('error="invalid_token"');
  });
});

describe("what a client sends that nginx must not pass on", () => {
  it("identity headers a client sends never reach the upstream, allowed or public", async () => {
    const forged = {
      "x-user-sub": "admin",
      "x-user-email": "admin@example.com",
      "x-user-roles": "admin",
      "x-user-context": "e30=",
      "x-client-id": "trusted",
    };
    const token = await stack.idp.clientCredentialsToken(["api.read"]);
    expect(
      (await stack.request("/api/strip", { headers: { ...forged, authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    expect((await stack.request("/public/strip", { headers: forged })).status).toBe(200);
    const onApi = upstreamRequestsFor("/api/strip").at(-1)?.headers ?? {};
    expect(onApi["x-user-sub"]).toBeUndefined();
    expect(onApi["x-client-id"]).toBe("demo-cli");
    expect(onApi["x-user-email"]).toBeUndefined();
    expect(onApi["x-user-roles"]).not.toBe("admin");
    expect(onApi["x-user-context"]).not.toBe("e30=");
    const onPublic = upstreamRequestsFor("/public/strip").at(-1)?.headers ?? {};
    for (const name of Object.keys(forged)) expect(onPublic[name]).toBeUndefined();
  });

  it("a client's own X-Original-URI, X-Original-Method and X-Forwarded-Host are ignored: the real request is decided", async () => {
    const res = await stack.request("/api/secret", {
      headers: { "x-original-uri": "/public/ok", "x-original-method": "GET", "x-forwarded-host": "other.example" },
    });
    expect(res.status).toBe(401);
    expect(upstreamRequestsFor("/api/secret")).toHaveLength(0);
  });

  it("the forward-auth endpoint itself is not reachable from outside", async () => {
    const token = await stack.idp.clientCredentialsToken(["api.read"]);
    const res = await stack.request("/oauth2/auth", {
      headers: { authorization: `Bearer ${token}`, "x-original-uri": "/api", "x-original-method": "GET" },
    });
    expect(res.status).toBe(404);
    expect(res.headers["x-user-sub"]).toBeUndefined();
  });
});

describe("browser login through nginx", () => {
  it("a page without a session is sent to the IdP with Portcullis's login cookie", async () => {
    const res = await stack.request("/hello", { headers: HTML });
    expect(res.status).toBe(302);
    expect(String(res.headers.location)).toMatch(new RegExp(`^${stack.idp.authorizationEndpoint}\\?`));
    expect(setCookiesOf(res.headers).map((c) => c.name)).toEqual([expect.stringMatching(/^__Host-portcullis-login\./)]);
  });

  it(
    "signs in in Chromium and lands on the page asked for, the upstream seeing the user and not the session cookie",
    async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${stack.origin}/hello?from=nginx`);
        await loginInBrowser(page, { user: "bob", secondFactor: false });
        await page.waitForURL((url) => url.href === `${stack.origin}/hello?from=nginx`);
        const seen = upstreamRequestsFor("/hello?from=nginx").at(-1);
        expect(seen?.headers["x-user-sub"]).toBe("bob");
        expect(String(seen?.headers["cookie"] ?? "")).not.toContain("__Host-portcullis");
        // The session holds: the next page is let through without the IdP.
        const again = await page.goto(`${stack.origin}/hello?again=1`);
        expect(again?.status()).toBe(200);
        expect(upstreamRequestsFor("/hello?again=1").at(-1)?.headers["x-user-sub"]).toBe("bob");
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT,
  );
});
