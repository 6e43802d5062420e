// The dev IdP's interaction screens under /interaction/:uid (in place of oidc-provider's
// devInteractions): the login form with its optional second factor, Cancel (access_denied), and
// consent granted without a screen for the demo's own clients. Plain HTML, every value escaped.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { InteractionDetails, Provider } from "oidc-provider";
import { checkDemoPassword, LOA_PASSWORD, LOA_SECOND_FACTOR, loginFactsFor, meetsAcrValues } from "./demoAccounts.ts";
import { readRequestBody } from "./readRequestBody.ts";
import { devIdpPageCsp, escapeHtml, renderDevIdpPage } from "./renderDevIdpPage.ts";
import { LOGIN_FIELDS, renderLoginPage } from "./renderLoginPage.ts";
import type { SecondFactorDemand } from "./renderLoginPage.ts";

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|abort))?$/;

type InteractionAction = "show" | "login" | "abort";

/** Answers a request under /interaction/; never throws (faults become a small page). */
export async function handleDevIdpInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  try {
    const opened = await openInteraction(provider, req, res, path);
    if (opened === undefined) return;
    const { action, details } = opened;
    if (action === "abort") {
      await provider.interactionFinished(
        req,
        res,
        { error: "access_denied", error_description: "End-User aborted interaction" },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (details.prompt.name === "consent") {
      await grantConsent(provider, req, res, details);
      return;
    }
    if (details.prompt.name !== "login") {
      sendPage(res, 400, "Unsupported", `<h1>Unsupported step</h1>\n<p>${escapeHtml(details.prompt.name)}</p>`);
      return;
    }
    const demand = secondFactorDemand(details.params.acr_values);
    if (action === "show") showLogin(res, 200, details, demand, loginHint(details));
    else await submitLogin(provider, req, res, details, demand);
  } catch {
    if (!res.headersSent)
      sendPage(res, 500, "Error", "<h1>Something went wrong</h1>\n<p>Go back to the application and start again.</p>");
    else res.destroy();
  }
}

/** The interaction a request is about, or undefined once a 404/400 page has been sent. */
async function openInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<{ action: InteractionAction; details: InteractionDetails } | undefined> {
  const match = INTERACTION_PATH.exec(path);
  const action = (match?.[2] ?? "show") as InteractionAction;
  if (match === null || (action === "show" ? req.method !== "GET" : req.method !== "POST")) {
    sendPage(res, 404, "Not found", "<h1>Not found</h1>");
    return undefined;
  }
  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    sendPage(
      res,
      400,
      "Sign-in expired",
      `<h1>This sign-in has expired</h1>\n<p>Go back to the application and start again.</p>`,
    );
    return undefined;
  }
  if (details.uid !== match[1]) {
    sendPage(
      res,
      400,
      "Sign-in mismatch",
      `<h1>This sign-in does not match</h1>\n<p>Go back to the application and start again.</p>`,
    );
    return undefined;
  }
  return { action, details };
}

/** The login form posted: a known user with the right password (and a second factor when required). */
async function submitLogin(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  details: InteractionDetails,
  demand: SecondFactorDemand,
): Promise<void> {
  const form = new URLSearchParams(await readRequestBody(req, 8192));
  const login = form.get(LOGIN_FIELDS.login) ?? "";
  const user = checkDemoPassword(login, form.get(LOGIN_FIELDS.password) ?? "");
  const secondFactor = form.get(LOGIN_FIELDS.secondFactor) === "otp";
  if (user === undefined) {
    showLogin(res, 401, details, demand, login, "Wrong user name or password.");
    return;
  }
  if (demand === "required" && !secondFactor) {
    showLogin(
      res,
      401,
      details,
      demand,
      login,
      "This application asks for a second factor: tick “Use a second factor”.",
    );
    return;
  }
  const facts = loginFactsFor(secondFactor);
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.sub, acr: facts.acr, amr: [...facts.amr], ts: facts.authTime, remember: true } },
    { mergeWithLastSubmission: false },
  );
}

/** Only LOA 2 acceptable: required; LOA 2 named but a password would do: suggested. */
function secondFactorDemand(acrValues: unknown): SecondFactorDemand {
  if (!meetsAcrValues(LOA_PASSWORD, acrValues)) return "required";
  const asked = typeof acrValues === "string" ? acrValues.split(" ") : [];
  return asked.includes(LOA_SECOND_FACTOR) ? "suggested" : "optional";
}

function loginHint(details: InteractionDetails): string {
  const hint = details.params.login_hint;
  if (typeof hint === "string") return hint;
  return details.session?.accountId ?? "";
}

function showLogin(
  res: ServerResponse,
  status: number,
  details: InteractionDetails,
  demand: SecondFactorDemand,
  hint: string,
  error?: string,
): void {
  const clientId = typeof details.params.client_id === "string" ? details.params.client_id : "";
  const html = renderLoginPage({
    uid: details.uid,
    clientId,
    loginHint: hint,
    secondFactor: demand,
    ...(error === undefined ? {} : { error }),
  });
  send(res, status, html, devIdpPageCsp());
}

function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
  send(res, status, renderDevIdpPage(title, body), devIdpPageCsp());
}

function send(res: ServerResponse, status: number, html: string, csp: string): void {
  res
    .writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    })
    .end(html);
}

/** The demo's clients are first-party: whatever the request still lacks is granted without a screen. */
async function grantConsent(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  details: InteractionDetails,
): Promise<void> {
  const accountId = details.session?.accountId;
  if (accountId === undefined) throw new Error("consent without a login");
  const existing = details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId);
  const grant = existing ?? new provider.Grant({ accountId, clientId: details.params.client_id });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope !== undefined) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(indicator, scopes.join(" "));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}
