// Reads an integer or boolean key's value that came from `${NAME}` (YAML makes `"${PORT}"` a string):
// the exact text of a decimal integer or of true/false, nothing looser (no spaces, no `0x`, no
// `yes`), so a variable holding something else is reported rather than guessed at.

const INTEGER = /^-?[0-9]+$/;

/** The value the text stands for in a key of this kind, or undefined when it is not one. */
export function envScalar(kind: "integer" | "boolean", text: string): number | boolean | undefined {
  if (kind === "boolean") return text === "true" ? true : text === "false" ? false : undefined;
  if (!INTEGER.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** ` (from environment variable PORT)`, naming the variables (never their values) behind a key. */
export function envSourceNote(names: readonly string[] | undefined): string {
  if (names === undefined || names.length === 0) return "";
  const list = names.join(", ");
  return names.length === 1 ? ` (from environment variable ${list})` : ` (from environment variables ${list})`;
}
