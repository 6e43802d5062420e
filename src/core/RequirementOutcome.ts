// The result of checking a route's requirements against a caller. A failure names its kind, which
// the gate maps to a denial: 403 insufficient_scope, 403 forbidden, or step-up (a new login for a
// browser, 401 insufficient_user_authentication for an API). `detail` is for logs: it names claims
// and the route's own configured values, never a value taken from the token.

import type { CompiledDenial } from "./compileDenials.ts";

export type RequirementOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly kind: "insufficient_scope";
      /** Every scope the route requires (for WWW-Authenticate `scope="..."`), not only the missing ones. */
      readonly scopes: readonly string[];
      /** The required scopes the caller lacks (what incremental consent asks the IdP to add). */
      readonly missing: readonly string[];
      readonly detail: string;
    }
  | { readonly ok: false; readonly kind: "forbidden"; readonly detail: string }
  /** A deny rule of the route applies (`routes[].deny`): its code and status answer. */
  | { readonly ok: false; readonly kind: "denied"; readonly denial: CompiledDenial; readonly detail: string }
  | {
      readonly ok: false;
      readonly kind: "step_up";
      /** The route's acceptable `acr` values (for `acr_values`), or null when it requires none. */
      readonly acrValues: readonly string[] | null;
      /** The route's `maxAge` in seconds (for `max_age`), or null when it sets none. */
      readonly maxAge: number | null;
      readonly detail: string;
    };
