// One user-facing finding about a config: where (a key path such as `routes[0].match.path`) and what.
// Messages never carry secret values; the parser decides what may be quoted.

export interface ConfigIssue {
  /** Key path (`routes[0].match.path`), or `(file)`, `(yaml)`, `(root)` for whole-file findings. */
  readonly path: string;
  readonly message: string;
}

/** `routes[0].match.path: must start with "/" (got "admin")` */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path}: ${issue.message}`;
}
