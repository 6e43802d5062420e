// The dev IdP's people and how strongly they signed in: the demo users, the two levels of
// assurance the login page can give (password; password + one-time code) and their amr values.
// Demo data only: the password of a demo user is its name.

export interface DemoUser {
  readonly sub: string;
  readonly email: string;
  readonly name: string;
  readonly roles: readonly string[];
}

export const DEMO_USERS: Readonly<Record<string, DemoUser>> = {
  alice: { sub: "alice", email: "alice@example.com", name: "Alice Admin", roles: ["admin", "user"] },
  bob: { sub: "bob", email: "bob@example.com", name: "Bob User", roles: ["user"] },
};

/** Level of assurance 1: a password. */
export const LOA_PASSWORD = "urn:portcullis:loa:1";
/** Level of assurance 2: a password and a second factor (a one-time code). */
export const LOA_SECOND_FACTOR = "urn:portcullis:loa:2";
/** Weakest first: a login at a level satisfies a request for that level or any weaker one. */
export const DEMO_ACR_VALUES = [LOA_PASSWORD, LOA_SECOND_FACTOR] as const;

/** The weakest level an acr_values parameter accepts (an index into DEMO_ACR_VALUES); undefined when it names none of ours. */
export function weakestAcceptedLevel(acrValues: unknown): number | undefined {
  const asked = typeof acrValues === "string" ? acrValues.split(" ") : [];
  const levels = asked.map((acr) => (DEMO_ACR_VALUES as readonly string[]).indexOf(acr)).filter((level) => level >= 0);
  return levels.length === 0 ? undefined : Math.min(...levels);
}

/** Whether a login at `acr` meets an acr_values request (one naming none of our levels is met by any login). */
export function meetsAcrValues(acr: string | undefined, acrValues: unknown): boolean {
  const weakest = weakestAcceptedLevel(acrValues);
  return weakest === undefined || (DEMO_ACR_VALUES as readonly string[]).indexOf(acr ?? "") >= weakest;
}

/** What a login established; it goes into ID tokens and user access tokens as acr, amr, auth_time. */
export interface LoginFacts {
  readonly acr: string;
  readonly amr: readonly string[];
  /** Epoch seconds. */
  readonly authTime: number;
}

export function loginFactsFor(secondFactor: boolean, authTime: number = Math.floor(Date.now() / 1000)): LoginFacts {
  return secondFactor
    ? { acr: LOA_SECOND_FACTOR, amr: ["pwd", "otp"], authTime }
    : { acr: LOA_PASSWORD, amr: ["pwd"], authTime };
}

/** An own entry of DEMO_USERS only (never `constructor`, `__proto__`, ...). */
export function findDemoUser(name: string): DemoUser | undefined {
  return Object.hasOwn(DEMO_USERS, name) ? DEMO_USERS[name] : undefined;
}

/** The demo's password check: a known user whose password is its name. */
export function checkDemoPassword(login: string, password: string): DemoUser | undefined {
  const user = findDemoUser(login);
  return user !== undefined && password === login ? user : undefined;
}
