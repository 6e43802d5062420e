// Launches Debian's Chromium for the browser e2e tests through playwright-core (which never
// downloads a browser): headless, no sandbox (CI runs as root), self-signed certificates accepted
// in every context it makes. close() is idempotent and always ends the browser's process group.

import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, BrowserContextOptions } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

/** Where the Chromium binary is: $CHROMIUM_BIN (bin/test sets it) or Debian's /usr/bin/chromium. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.CHROMIUM_BIN;
  return configured !== undefined && configured !== "" ? configured : "/usr/bin/chromium";
}

export interface StartBrowserOptions {
  readonly executablePath?: string;
  /** Default 30 s: a loaded 2-core CI machine can take a while to start Chromium. */
  readonly launchTimeoutMs?: number;
  /** Default wait of every action and navigation in the contexts made here (default 10 s). */
  readonly actionTimeoutMs?: number;
}

export interface StartedBrowser {
  readonly browser: Browser;
  /** The browser process (its process group holds the renderers); undefined if it could not be read. */
  readonly pid: number | undefined;
  /** A fresh, isolated context (own cookies) that accepts the stacks' self-signed certificates. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** Closes the browser; kills its process group if it does not exit within 5 s. Safe to call twice. */
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 5000;

export async function startBrowser(options: StartBrowserOptions = {}): Promise<StartedBrowser> {
  const executablePath = options.executablePath ?? chromiumPath();
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: run bin/test (it installs the Debian package chromium) or set CHROMIUM_BIN`,
    );
  }
  const actionTimeoutMs = options.actionTimeoutMs ?? 10_000;
  const browser = await chromium.launch({
    executablePath,
    args: [...CHROMIUM_ARGS],
    headless: true,
    timeout: options.launchTimeoutMs ?? 30_000,
  });
  const pid = await browserPid(browser);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await withTimeout(browser.close(), CLOSE_TIMEOUT_MS).catch(() => undefined);
      if (pid !== undefined && isAlive(pid)) killGroup(pid);
    })();
    return closing;
  };

  return {
    browser,
    pid,
    async newContext(contextOptions = {}) {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, ...contextOptions });
      context.setDefaultTimeout(actionTimeoutMs);
      context.setDefaultNavigationTimeout(actionTimeoutMs);
      return context;
    },
    close,
  };
}

/** playwright-core's launch() does not expose the process; the browser tells its own pid over CDP. */
async function browserPid(browser: Browser): Promise<number | undefined> {
  try {
    const cdp = await browser.newBrowserCDPSession();
    const info = (await cdp.send("SystemInfo.getProcessInfo")) as { processInfo: { type: string; id: number }[] };
    await cdp.detach();
    return info.processInfo.find((p) => p.type === "browser")?.id;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number): void {
  // Playwright starts Chromium as the leader of its own process group: the group holds the renderers.
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
