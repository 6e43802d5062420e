// The dev IdP's HTML shell and escaping: one plain page, inline style, no external assets, so the
// login and logout screens work offline and under a strict Content-Security-Policy.

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f4f5;margin:0;padding:40px 16px;color:#18181b}
main{max-width:340px;margin:0 auto;background:#fff;padding:24px 28px;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.3em;margin:0 0 4px}p{margin:8px 0}label{display:block;margin:12px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:8px;font-size:1em}
label.check{display:flex;gap:8px;align-items:center}button{margin-top:14px;width:100%;padding:9px;font-size:1em;cursor:pointer}
button.secondary{background:none;border:1px solid #a1a1aa}.error{color:#b91c1c}.notice{color:#1d4ed8}.hint{color:#52525b;font-size:.9em}`;

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `body` is trusted markup: every value in it must already have gone through escapeHtml. */
export function renderDevIdpPage(title: string, body: string, head = ""): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Portcullis demo IdP</title>
<style>${STYLE}</style>${head}
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** For the pages this module renders: inline style only, no scripts unless hashed in. */
export function devIdpPageCsp(scriptHashes: readonly string[] = []): string {
  const scripts = scriptHashes.length === 0 ? "'none'" : scriptHashes.map((h) => `'${h}'`).join(" ");
  return `default-src 'none'; style-src 'unsafe-inline'; script-src ${scripts}; frame-ancestors 'none'; base-uri 'none'`;
}
