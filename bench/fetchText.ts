// One bounded loopback HTTP GET for setup and sanity probes (never used to generate load).

export async function fetchText(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

/** Polls `url` until it answers 200, at most `timeoutMs`; throws with the last answer seen. */
export async function waitForHttp200(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const { status, body } = await fetchText(url, {}, 1000);
      if (status === 200) return;
      last = `${status} ${body.trim().slice(0, 200)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    // Short: the memory phase times cold start to this 200.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}
