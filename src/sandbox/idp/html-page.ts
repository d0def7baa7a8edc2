/**
 * The HTML of the identity providers' own pages (login, consent, CIBA
 * approval, errors): small, no script, every interpolated value escaped.
 */

/** Escapes text for an HTML text node or a double-quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** A complete document around `bodyHtml` (already escaped by the caller). */
export function renderPage(title: string, bodyHtml: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}form{margin:1rem 0}label{display:block;margin:.6rem 0}
input{display:block;width:100%;max-width:22rem;padding:.4rem;font-size:1rem}
button{padding:.45rem 1rem;font-size:1rem;margin-right:.5rem}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
.error{color:#a40000;font-weight:600}.note{color:#555;font-size:.9rem}.inline{display:inline}
</style>
</head>
<body>
${bodyHtml}
</body>
</html>
`;
}

/**
 * Headers of every page: never cached (they carry per-login state), never
 * framed (clickjacking on a login form), no script at all, and no referrer
 * (interaction URLs carry one-time identifiers).
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};
