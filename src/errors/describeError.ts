// The one way to name an error for the log when its message cannot be trusted: its class and its
// stable `code` property, never its message (a library's message may quote its input, and input may
// be a token or a secret). Errors whose messages we write log-safe are logged by their message instead.

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === "string" ? ` (${code})` : ""}`;
  }
  return "non-error fault";
}
