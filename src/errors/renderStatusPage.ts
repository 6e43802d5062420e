// A small, self-contained HTML page for browsers (denials, login errors): no scripts, no external
// assets, every dynamic value escaped. Text only ever comes from our own tables or is escaped here.

export interface StatusPage {
  readonly status: number;
  readonly title: string;
  readonly message: string;
  /** An optional link, e.g. "Try again" back to the page the login started from. */
  readonly link?: { readonly href: string; readonly text: string };
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderStatusPage(page: StatusPage): string {
  const link =
    page.link === undefined ? "" : `\n<p><a href="${escapeHtml(page.link.href)}">${escapeHtml(page.link.text)}</a></p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(page.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body>
<h1>${escapeHtml(page.title)}</h1>
<p>${escapeHtml(page.message)}</p>${link}
<p><small>HTTP ${page.status}</small></p>
</body></html>
`;
}
