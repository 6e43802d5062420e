// The caller as route requirements read it: the verified claims, and what is worked out from them
// only when a requirement asks — the roles and groups the identity module reads, and the time (for
// maxAge) — each at most once per check, so a route whose rules read only claims or scopes pays
// for neither; and the request, which deny rules' `when.request` test.
import type { Clock } from "../clock/Clock.ts";
import type { RequirementSubject } from "./evaluateRequirements.ts";
import type { Subject } from "./Subject.ts";
import type { ConditionInput } from "./compileRequestConditions.ts";

/** Where roles and groups are read (the identity module), per provider. */
export interface RoleReader {
  roles(claims: Readonly<Record<string, unknown>>, provider?: string): string[];
  groups?(claims: Readonly<Record<string, unknown>>, provider?: string): string[];
}

class JudgedSubject implements RequirementSubject {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly request: ConditionInput | undefined;
  #roles: readonly string[] | undefined;
  #groups: readonly string[] | undefined;
  #now: number | undefined;
  readonly #identity: RoleReader;
  readonly #provider: string;
  readonly #clock: Pick<Clock, "now">;

  constructor(
    identity: RoleReader,
    subject: Pick<Subject, "claims" | "provider">,
    clock: Pick<Clock, "now">,
    request: ConditionInput | undefined,
  ) {
    this.claims = subject.claims;
    this.request = request;
    this.#identity = identity;
    this.#provider = subject.provider;
    this.#clock = clock;
  }

  get roles(): readonly string[] {
    return (this.#roles ??= this.#identity.roles(this.claims, this.#provider));
  }

  /** Undefined where the identity module reads no groups of its own (requirements read the `groups` claim). */
  get groups(): readonly string[] | undefined {
    if (this.#identity.groups === undefined) return undefined;
    return (this.#groups ??= this.#identity.groups(this.claims, this.#provider));
  }

  get now(): number {
    return (this.#now ??= Math.floor(this.#clock.now() / 1000));
  }
}

export function judgedSubject(
  identity: RoleReader,
  subject: Pick<Subject, "claims" | "provider">,
  clock: Pick<Clock, "now">,
  request?: ConditionInput,
): RequirementSubject {
  return new JudgedSubject(identity, subject, clock, request);
}
