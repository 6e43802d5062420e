// A log line for an error no step expected: class and code only, since a library's message may
// quote its input, and input here may be a token.

export function describeUnexpected(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `unexpected ${error.name}${typeof code === "string" ? ` (${code})` : ""}`;
  }
  return "unexpected non-error fault";
}
