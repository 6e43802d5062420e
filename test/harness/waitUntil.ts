// Polls a condition until it holds or a deadline passes. A probe that throws or times out counts
// as "not yet": on a loaded machine a slow or refused probe is the normal case while starting.

export async function waitUntil(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return true;
    if (Date.now() >= end) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
