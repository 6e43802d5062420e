// Starts a stack (anything with close()) and Chromium side by side for the browser e2e tests. If
// either fails to start, the half that did start is closed before the failure is thrown, so a broken
// launch never leaves an Envoy, a Portcullis or a Chromium behind for the next test file.
import { startBrowser, type StartedBrowser } from "./startBrowser.ts";

export interface Closable {
  close(): Promise<void>;
}

export interface StackWithBrowser<S extends Closable, B extends Closable = StartedBrowser> {
  readonly stack: S;
  readonly browser: B;
  /** Closes the browser, then the stack (its pages talk to the stack); later calls wait for the first. */
  close(): Promise<void>;
}

export function startWithBrowser<S extends Closable>(
  startStack: () => Promise<S>,
): Promise<StackWithBrowser<S, StartedBrowser>>;
export function startWithBrowser<S extends Closable, B extends Closable>(
  startStack: () => Promise<S>,
  launchBrowser: () => Promise<B>,
): Promise<StackWithBrowser<S, B>>;
export async function startWithBrowser(
  startStack: () => Promise<Closable>,
  launchBrowser: () => Promise<Closable> = startBrowser,
): Promise<StackWithBrowser<Closable, Closable>> {
  // Called inside async functions so a starter that throws before returning a promise is a rejection too.
  const [started, launched] = await Promise.allSettled([(async () => startStack())(), (async () => launchBrowser())()]);
  if (started.status === "fulfilled" && launched.status === "fulfilled") {
    return bothStarted(started.value, launched.value);
  }
  const failures = [started, launched].flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
  const halfStarted = [launched, started].flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  for (const half of halfStarted) {
    await half.close().catch((error: unknown) => failures.push(error));
  }
  throw failures.length === 1 ? failures[0] : new AggregateError(failures, startFailureMessage(failures));
}

function bothStarted<S extends Closable, B extends Closable>(stack: S, browser: B): StackWithBrowser<S, B> {
  let closing: Promise<void> | undefined;
  const close = async () => {
    try {
      await browser.close();
    } finally {
      await stack.close();
    }
  };
  return { stack, browser, close: () => (closing ??= close()) };
}

/** Every failure's message in one line (the stack's start, the browser's, then a failed close of the
 * half that started), so a test report names them all. */
function startFailureMessage(failures: readonly unknown[]): string {
  const messages = failures.map((failure) => (failure instanceof Error ? failure.message : String(failure)));
  return `${failures.length} failures starting a stack with a browser: ${messages.join("; ")}`;
}
