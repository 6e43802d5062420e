// For the session tests across replicas: a browser logged in through the stack, its session cookie,
// and whether every replica answers that cookie the same way. Envoy spreads requests by least
// requests (random among ties), so batches are sent until each replica's own check counter moved.
import type { StartedBrowser } from "./startBrowser.ts";
import { loginThroughStack } from "./loginThroughStack.ts";
import { readMetric } from "./readMetric.ts";
import type { ReplicaStack } from "./startReplicaStack.ts";

const SESSION_COOKIE = "__Host-portcullis";

/** Logs `user` in with a browser of its own (its User-Agent given) and returns the session's Cookie header. */
export async function loginForCookie(
  browser: StartedBrowser,
  stack: ReplicaStack,
  user: string,
  userAgent: string,
): Promise<string> {
  const context = await browser.newContext({ userAgent });
  try {
    const page = await context.newPage();
    await loginThroughStack(page, stack.origin, "/api/orders", { user });
    const cookie = (await context.cookies(stack.origin))
      .filter((c) => c.name === SESSION_COOKIE || c.name.startsWith(`${SESSION_COOKIE}.`))
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
    if (cookie === "") throw new Error(`no session cookie after ${user}'s login`);
    return cookie;
  } finally {
    await context.close();
  }
}

async function checksOf(stack: ReplicaStack, decision: "allow" | "deny"): Promise<number[]> {
  return Promise.all(
    stack.replicas.map(async (replica) => {
      const res = await fetch(`http://127.0.0.1:${replica.ports.admin}/metrics`, { signal: AbortSignal.timeout(2000) });
      return readMetric(await res.text(), "portcullis_checks_total", { decision, route: "api" });
    }),
  );
}

/**
 * Whether /api/orders with this cookie answers `status` on every replica: batches of requests until
 * every replica has decided some of them (at most 10 batches); false at the first other answer.
 */
export async function answersOnEveryReplica(stack: ReplicaStack, cookie: string, status: 200 | 401): Promise<boolean> {
  const decision = status === 200 ? "allow" : "deny";
  const before = await checksOf(stack, decision);
  let after = before;
  for (let batch = 0; batch < 10 && after.some((n, i) => n === before[i]); batch++) {
    const answers = await Promise.all(Array.from({ length: 6 }, () => stack.request("/api/orders", { cookie })));
    if (answers.some((res) => res.status !== status)) return false;
    after = await checksOf(stack, decision);
  }
  return after.every((n, i) => n > (before[i] as number));
}

/** One admin API call on a replica's admin listener; `token` null sends none. */
export async function adminCall(
  stack: ReplicaStack,
  replica: number,
  method: string,
  path: string,
  options: { readonly token: string | null; readonly body?: unknown },
): Promise<{ readonly status: number; readonly body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (options.token !== null) headers["authorization"] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`http://127.0.0.1:${stack.replicas[replica]!.ports.admin}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
