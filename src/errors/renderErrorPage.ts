// The browser page for a registry code on one surface: the surface's title for the code's status and
// the code's public description written as a sentence, with an optional public note (e.g. the IdP's
// OAuth error) and link. Never detail: that goes to the log.
import { ERROR_CODES, type ErrorCode, type Surface } from "./ErrorCode.ts";
import { renderStatusPage } from "./renderStatusPage.ts";

/** Surfaces that answer browsers with a page (back-channel logout answers the IdP in JSON, the admin API its CLI). */
export type PageSurface = Exclude<Surface, "backchannel_logout" | "admin_api">;

const TITLES: { readonly [S in PageSurface]: (status: number) => string } = {
  check: (status) =>
    status === 403
      ? "Access denied"
      : status === 401
        ? "Sign-in required"
        : status === 400
          ? "Bad request"
          : "Service unavailable",
  callback: () => "Sign-in failed",
  start: (status) => (status === 503 ? "Sign-in unavailable" : "Sign-in refused"),
  sign_out: (status) => (status === 503 ? "Sign-out unavailable" : "Sign-out refused"),
  auth_listener: () => "Sign-in unavailable",
};

export interface ErrorPageOptions {
  /** Public text appended in parentheses, e.g. the IdP's own OAuth error code (escaped by the page). */
  readonly note?: string | null;
  readonly link?: { readonly href: string; readonly text: string };
}

export function renderErrorPage(
  code: ErrorCode,
  surface: PageSurface,
  options: ErrorPageOptions = {},
): { readonly status: number; readonly body: string } {
  const { status, description } = ERROR_CODES[code];
  const note = options.note ? ` (${options.note})` : "";
  const body = renderStatusPage({
    status,
    title: TITLES[surface](status),
    message: asSentence(`${description}${note}`),
    ...(options.link !== undefined ? { link: options.link } : {}),
  });
  return { status, body };
}

/** Descriptions are clauses (as a JSON error_description reads them); a page shows them as a sentence. */
function asSentence(clause: string): string {
  return `${clause.charAt(0).toUpperCase()}${clause.slice(1)}.`;
}
