// `session.keysFile` from a Kubernetes-style Secret mount under `serve --watch`: the keys are read
// from the file at start, and a Secret update (the `..data` symlink swap) rotates them without a
// restart: the new first key seals the next login cookies, the reload says the keys changed (never
// what they are), and the old key, kept second, still unseals what it sealed.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCookieSealer } from "../../src/session/createCookieSealer.ts";
import { createTempScope, type TempScope } from "../harness/createTempScope.ts";
import { createSecretDir, type SecretDir } from "../harness/kubernetesSecretDir.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const OLD_KEY = randomBytes(32).toString("base64url");
const NEW_KEY = randomBytes(32).toString("base64url");

let scope: TempScope;
let secret: SecretDir;
let stack: Stack;

beforeAll(async () => {
  scope = await createTempScope("portcullis-session-keys-");
  secret = await createSecretDir(join(scope.dir, "session"), { keys: `${OLD_KEY}\n` });
  stack = await startStack({
    login: true,
    // The stack's own random key is replaced by the file (keys and keysFile are exclusive).
    session: { keys: undefined, keysFile: secret.file("keys") },
    serveArgs: ["--watch"],
  });
});
afterAll(async () => {
  await stack?.close();
  await scope?.close();
});

/** The login-transaction cookie a browser gets when sent to the IdP: sealed with the first key. */
async function loginCookie(): Promise<string> {
  const res = await stack.request("/api/orders", { headers: { accept: "text/html" } });
  expect(res.status).toBe(302);
  const cookies = [res.headers["set-cookie"] ?? []].flat();
  const cookie = cookies.find((c) => c.startsWith("__Host-portcullis-login"));
  if (cookie === undefined) throw new Error(`no login cookie in ${JSON.stringify(cookies)}`);
  return cookie.slice(cookie.indexOf("=") + 1, cookie.indexOf(";"));
}

const opens = (keys: string[], value: string) =>
  createCookieSealer({ keys, purpose: "portcullis-login" }).unseal(value) !== null;

describe("session keys from a Secret file", () => {
  it("seals with the key the file holds", async () => {
    expect(opens([OLD_KEY], await loginCookie())).toBe(true);
  });

  it("rotates the keys on a Secret update without a restart: the new key seals, the old one still opens", async () => {
    const before = await loginCookie();
    await secret.update({ keys: `# rotated\n${NEW_KEY}\n${OLD_KEY}\n` });
    const log = join(stack.dir, "portcullis.log");
    const reloaded = await waitUntil(
      async () => (await readFile(log, "utf8")).includes('"sessionKeysChanged":true'),
      10_000,
    );
    expect(reloaded).toBe(true);
    const after = await loginCookie();
    expect(opens([NEW_KEY], after)).toBe(true);
    expect(opens([OLD_KEY], after)).toBe(false);
    // What the old key sealed before the rotation still opens with the rotated list.
    expect(opens([NEW_KEY, OLD_KEY], before)).toBe(true);
    const text = await readFile(log, "utf8");
    expect(text).not.toContain(NEW_KEY);
    expect(text).not.toContain(OLD_KEY);
  });
});
