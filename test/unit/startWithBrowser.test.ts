// The stack-with-browser harness on fake halves: whichever half started is closed when the other
// fails to start, the failure reaches the test unchanged (all of them when several), and close()
// stops the browser before the stack, once. Chromium itself is covered in test/e2e/browserHarness.test.ts.
import { describe, expect, it, vi } from "vitest";
import { startWithBrowser, type Closable } from "../harness/startWithBrowser.ts";

/** A started half whose close() records its name in `closed`. */
function fakeHalf(name: string, closed: string[], closeError?: Error): Closable & { close: ReturnType<typeof vi.fn> } {
  return {
    close: vi.fn(async () => {
      closed.push(name);
      if (closeError !== undefined) throw closeError;
    }),
  };
}

describe("startWithBrowser", () => {
  it("closes the started stack and throws the browser's failure when the browser fails to launch", async () => {
    const closed: string[] = [];
    const stack = fakeHalf("stack", closed);
    const launchFailure = new Error("Chromium not found at /nowhere");
    const start = startWithBrowser(
      async () => stack,
      async () => {
        throw launchFailure;
      },
    );
    await expect(start).rejects.toBe(launchFailure);
    expect(stack.close).toHaveBeenCalledTimes(1);
    expect(closed).toEqual(["stack"]);
  });

  it("closes the launched browser and throws the stack's failure when the stack fails to start", async () => {
    const closed: string[] = [];
    const browser = fakeHalf("browser", closed);
    const stackFailure = new Error("Envoy exited with code 1");
    await expect(
      startWithBrowser(
        () => Promise.reject(stackFailure),
        async () => browser,
      ),
    ).rejects.toBe(stackFailure);
    expect(browser.close).toHaveBeenCalledTimes(1);
  });

  it("treats a starter that throws before returning a promise as a failed start", async () => {
    const closed: string[] = [];
    const stack = fakeHalf("stack", closed);
    const launchFailure = new Error("no executable");
    const launch = (): Promise<Closable> => {
      throw launchFailure;
    };
    await expect(startWithBrowser(async () => stack, launch)).rejects.toBe(launchFailure);
    expect(closed).toEqual(["stack"]);
  });

  it("throws both failures, the stack's first, when neither half starts", async () => {
    const stackFailure = new Error("port in use");
    const launchFailure = new Error("launch timed out");
    const error: unknown = await startWithBrowser(
      () => Promise.reject(stackFailure),
      () => Promise.reject(launchFailure),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors).toEqual([stackFailure, launchFailure]);
    expect((error as AggregateError).message).toBe(
      "2 failures starting a stack with a browser: port in use; launch timed out",
    );
  });

  it("reports a failure to close the started half after the start failure", async () => {
    const closeFailure = new Error("Envoy did not exit");
    const stack = fakeHalf("stack", [], closeFailure);
    const launchFailure = new Error("launch timed out");
    const error: unknown = await startWithBrowser(
      async () => stack,
      () => Promise.reject(launchFailure),
    ).catch((e: unknown) => e);
    expect((error as AggregateError).errors).toEqual([launchFailure, closeFailure]);
  });

  it("returns both halves; close() stops the browser, then the stack, once however often it is called", async () => {
    const closed: string[] = [];
    const stack = fakeHalf("stack", closed);
    const browser = fakeHalf("browser", closed);
    const started = await startWithBrowser(
      async () => stack,
      async () => browser,
    );
    expect(started.stack).toBe(stack);
    expect(started.browser).toBe(browser);
    expect(closed).toEqual([]);
    await Promise.all([started.close(), started.close()]);
    await started.close();
    expect(closed).toEqual(["browser", "stack"]);
  });

  it("still closes the stack when closing the browser fails, and reports that failure", async () => {
    const closed: string[] = [];
    const browserFailure = new Error("browser hung");
    const started = await startWithBrowser(
      async () => fakeHalf("stack", closed),
      async () => fakeHalf("browser", closed, browserFailure),
    );
    await expect(started.close()).rejects.toBe(browserFailure);
    expect(closed).toEqual(["browser", "stack"]);
  });
});
