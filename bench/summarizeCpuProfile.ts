// A V8 CPU profile's self time, summed two ways: by function (name, file and line) and by what the
// sample was doing, read from the innermost frame that says so: a known primitive (signature check,
// hashing, base64url, JSON, UTF-8, GC), else the innermost frame of this repository's src/ (so the
// Node internals a module calls count as that module's), else the package or Node internal.
// A sampling heap profile is summed the same way by allocating function (summarizeHeapProfile).
import type { Profiler } from "node:inspector";

export interface ProfileSummary {
  /** Every sample's time, µs. */
  readonly totalUs: number;
  /** [category, µs], largest first. */
  readonly byCategory: readonly (readonly [string, number])[];
  /** [function at file:line, µs] of self time, largest first. */
  readonly byFunction: readonly (readonly [string, number])[];
}

type Frame = Profiler.ProfileNode["callFrame"];

// Leaf-most first: the first rule a frame of the stack matches names the sample.
const PRIMITIVES: readonly (readonly [string, (f: Frame) => boolean])[] = [
  ["GC", (f) => f.functionName === "(garbage collector)"],
  ["signature: node:crypto verify()", (f) => f.url === "node:internal/crypto/sig"],
  ["SHA-256: node:crypto hash()", (f) => f.url === "node:internal/crypto/hash"],
  ["UTF-8 decode (TextDecoder)", (f) => f.url === "node:internal/encoding"],
  ["Buffer (base64url, latin1, toString)", (f) => f.url === "node:buffer" || f.url === "node:internal/buffer"],
];
// JSON.parse, RegExp and other builtins V8 runs inline are counted in their caller's self time.

const shortUrl = (url: string): string => {
  const src = url.indexOf("/src/");
  if (src >= 0 && !url.includes("node_modules")) return url.slice(src + 1);
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) return url.slice(modules + "node_modules/".length);
  return url === "" ? "(native)" : url.replace(/^node:/, "");
};

function categorize(stack: readonly Frame[]): string {
  const leaf = stack[0];
  if (leaf && (leaf.functionName === "(program)" || leaf.functionName === "(idle)")) return leaf.functionName;
  for (const frame of stack) for (const [name, test] of PRIMITIVES) if (test(frame)) return name;
  const own = stack.find((f) => f.url.includes("/src/") && !f.url.includes("node_modules"));
  if (own) return shortUrl(own.url);
  const pkg = stack.find((f) => f.url.includes("node_modules/"));
  if (pkg)
    return shortUrl(pkg.url)
      .split("/")
      .slice(0, pkg.url.includes("/@") ? 2 : 1)
      .join("/");
  return `node: ${shortUrl(leaf?.url ?? "")}`;
}

export function summarizeCpuProfile(profile: Profiler.Profile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  const deltas = profile.timeDeltas ?? [];
  (profile.samples ?? []).forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? 0)));
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const stack: Frame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame);
    const f = stack[0]!;
    const where = `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    byFunction.set(where, (byFunction.get(where) ?? 0) + us);
    const category = categorize(stack);
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
    totalUs += us;
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalUs, byCategory: sorted(byCategory), byFunction: sorted(byFunction) };
}

/** A sampling heap profile's bytes by allocating function (name, file and line), largest first. */
export function summarizeHeapProfile(profile: { readonly head: HeapNode }): {
  totalBytes: number;
  byFunction: readonly (readonly [string, number])[];
} {
  const byFunction = new Map<string, number>();
  let totalBytes = 0;
  // A builtin (Map.set, Array.join …) is named with the function that called it.
  const visit = (node: HeapNode, caller: string): void => {
    const f = node.callFrame;
    const native = f.url === "" && caller !== "";
    const where = native
      ? `${caller} → ${f.functionName || "(native)"}`
      : `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    if (node.selfSize > 0) {
      byFunction.set(where, (byFunction.get(where) ?? 0) + node.selfSize);
      totalBytes += node.selfSize;
    }
    for (const child of node.children) visit(child, native ? caller : where);
  };
  visit(profile.head, "");
  return { totalBytes, byFunction: [...byFunction].sort((a, b) => b[1] - a[1]) };
}

interface HeapNode {
  readonly callFrame: Frame;
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}
