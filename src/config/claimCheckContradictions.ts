// Finds leaves of a claim check tree that can never pass together: within one `all` (or a lone
// leaf list), two checks on one claim that contradict each other, such as `equals: a` beside
// `notEquals: a` or `equals: b`, `exists: true` beside `exists: false`, or `atLeast: 5` beside
// `atMost: 3`. Such a requirement denies everyone, which is never what a config means.

import { keyPath } from "./keyPath.ts";
import type { ClaimCheckConfig, ClaimLeafConfig } from "./parseClaimCheck.ts";

export interface Contradiction {
  readonly path: string;
  readonly message: string;
}

type Leaf = { readonly leaf: ClaimLeafConfig; readonly path: string };

function operatorOf(leaf: ClaimLeafConfig): [string, unknown] {
  const op = Object.keys(leaf).find((key) => key !== "claim") ?? "";
  return [op, (leaf as unknown as Record<string, unknown>)[op]];
}

/** Why `b` can never hold beside `a` on the same claim; null when both can. */
function conflict(a: ClaimLeafConfig, b: ClaimLeafConfig): string | null {
  const [opA, va] = operatorOf(a);
  const [opB, vb] = operatorOf(b);
  const show = JSON.stringify;
  if (opA === "equals" && opB === "equals" && va !== vb) return `equals ${show(vb)} but also ${show(va)}`;
  if (opA === "equals" && opB === "notEquals" && va === vb) return `notEquals ${show(vb)} but also equals it`;
  if (opA === "notEquals" && opB === "equals" && va === vb) return `equals ${show(vb)} but also notEquals it`;
  if (opA === "equals" && opB === "notOneOf" && (vb as unknown[]).includes(va))
    return `notOneOf holds ${show(va)}, which it also equals`;
  if (opA === "equals" && opB === "oneOf" && !(vb as unknown[]).includes(va))
    return `oneOf lacks ${show(va)}, which it also equals`;
  if (opA === "exists" && opB === "exists" && va !== vb) return "exists is both true and false";
  if ((opA === "atLeast" || opA === "greaterThan") && (opB === "atMost" || opB === "lessThan")) {
    const low = va as number;
    const high = vb as number;
    if (low > high || (low === high && (opA === "greaterThan" || opB === "lessThan")))
      return `${opB} ${high} but also ${opA} ${low}`;
  }
  if ((opA === "hasAll" || opA === "hasAny") && opB === "hasNone") {
    const required = va as string[];
    const banned = new Set(vb as string[]);
    if (opA === "hasAll" ? required.some((n) => banned.has(n)) : required.every((n) => banned.has(n)))
      return `hasNone excludes what ${opA} needs`;
  }
  return null;
}

function leavesOf(items: readonly ClaimCheckConfig[], path: string): Leaf[] {
  return items.flatMap((item, index) =>
    "claim" in item ? [{ leaf: item as ClaimLeafConfig, path: keyPath(path, index) }] : [],
  );
}

function checkAll(leaves: readonly Leaf[], found: Contradiction[]): void {
  leaves.forEach((b, j) => {
    for (const a of leaves.slice(0, j)) {
      if (a.leaf.claim !== b.leaf.claim) continue;
      const why = conflict(a.leaf, b.leaf) ?? conflict(b.leaf, a.leaf);
      if (why !== null) {
        found.push({
          path: b.path,
          message: `contradicts ${a.path} on claim ${JSON.stringify(b.leaf.claim)} (${why}), so the checks never hold together; remove one of them`,
        });
        return;
      }
    }
  });
}

/**
 * Each `endsWith` whose suffix starts with a letter or digit: `example.com` also passes
 * `ada@evilexample.com`, so a domain check wants the `@` (or a leading `.` for subdomains).
 */
export function looseSuffixes(tree: ClaimCheckConfig | null | undefined, path: string): Contradiction[] {
  const found: Contradiction[] = [];
  const walk = (node: ClaimCheckConfig, at: string): void => {
    if ("all" in node) node.all.forEach((child, i) => walk(child, keyPath(keyPath(at, "all"), i)));
    else if ("any" in node) node.any.forEach((child, i) => walk(child, keyPath(keyPath(at, "any"), i)));
    else if ("not" in node) walk(node.not, keyPath(at, "not"));
    else if ("endsWith" in node && /^[A-Za-z0-9]/.test(node.endsWith))
      found.push({
        path: keyPath(at, "endsWith"),
        message: `is ${JSON.stringify(node.endsWith)}, which also passes a value such as "x@evil${node.endsWith}"; start it with "@" (an address at that domain) or "." (its subdomains)`,
      });
  };
  if (tree !== null && tree !== undefined) walk(tree, path);
  return found;
}

/** Every contradiction in `tree`, at the key path of the later of the two leaves. */
export function claimCheckContradictions(tree: ClaimCheckConfig | null | undefined, path: string): Contradiction[] {
  const found: Contradiction[] = [];
  const walk = (node: ClaimCheckConfig, at: string): void => {
    if ("all" in node) {
      checkAll(leavesOf(node.all, keyPath(at, "all")), found);
      node.all.forEach((child, i) => walk(child, keyPath(keyPath(at, "all"), i)));
    } else if ("any" in node) node.any.forEach((child, i) => walk(child, keyPath(keyPath(at, "any"), i)));
    else if ("not" in node) walk(node.not, keyPath(at, "not"));
  };
  if (tree !== null && tree !== undefined) walk(tree, path);
  return found;
}
