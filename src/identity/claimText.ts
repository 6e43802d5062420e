// A claim value as header or metadata text: a string as it is, a finite number or a boolean
// written out, an array of those joined with ","; objects, nulls and empty arrays have no text.

export function claimScalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if ((typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean") return String(value);
  return undefined;
}

export function claimText(value: unknown): string | undefined {
  if (!Array.isArray(value)) return claimScalarText(value);
  const parts: string[] = [];
  for (const item of value) {
    const part = claimScalarText(item);
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return parts.length === 0 ? undefined : parts.join(",");
}
