import { readFileSync } from 'node:fs';
import { type Logger, SwitchyardError } from '@switchyard/core';
import type { MaintenancePage, MaintenancePageInfo } from './options';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** Builds the function that renders the HTML page: the built-in one, a template file, or the caller's function. */
export function createPageRenderer(page: MaintenancePage | undefined, logger: Logger): (info: MaintenancePageInfo) => string {
  if (page === undefined) return defaultPage;
  if (typeof page === 'function') {
    return (info) => {
      try {
        const html = page(info);
        if (typeof html === 'string') return html;
        logger.warn({ site: info.site }, 'the maintenance page function did not return a string; serving the built-in page');
      } catch (error) {
        logger.warn({ site: info.site, err: (error as Error).message }, 'the maintenance page function threw; serving the built-in page');
      }
      return defaultPage(info);
    };
  }
  let template: string;
  try {
    template = readFileSync(page, 'utf8');
  } catch (error) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_OPTION',
      `cannot read the maintenance page ${JSON.stringify(page)}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return (info) => fillTemplate(template, info);
}

/**
 * Fills `{{message}}`, `{{expectedBack}}`, `{{retryAfter}}`, `{{until}}`, `{{site}}`, `{{status}}`
 * (all escaped) and `{{refresh}}` (the refresh meta tag, or nothing). Unknown placeholders stay as
 * written, so a typo shows on the page instead of silently vanishing.
 */
export function fillTemplate(template: string, info: MaintenancePageInfo): string {
  const values: Record<string, string> = {
    message: escapeHtml(info.message),
    expectedBack: escapeHtml(info.expectedBack),
    retryAfter: info.retryAfterSeconds === undefined ? '' : String(info.retryAfterSeconds),
    until: info.until ? info.until.toISOString() : '',
    site: escapeHtml(info.site),
    status: String(info.status),
    refresh: refreshTag(info.refresh),
  };
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (placeholder, name: string) => values[name] ?? placeholder);
}

/** The built-in page: self-contained (inline CSS, no scripts or external assets), readable on a phone. */
export function defaultPage(info: MaintenancePageInfo): string {
  const title = info.state.mode === 'read-only' ? 'Read-only for maintenance' : 'Down for maintenance';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
${refreshTag(info.refresh)}<title>${title}</title>
<style>
:root{color-scheme:light dark}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f5f7;color:#1f2328;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{box-sizing:border-box;width:100%;max-width:34rem;margin:1rem;padding:2rem 1.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{margin:0 0 .75rem;font-size:1.5rem;line-height:1.25}
p{margin:0 0 .75rem;white-space:pre-line;overflow-wrap:anywhere}
.back{margin:0;color:#57606a}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}main{background:#161b22}.back{color:#8b949e}}
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p>${escapeHtml(info.message)}</p>
${info.expectedBack ? `<p class="back">${escapeHtml(info.expectedBack)}</p>\n` : ''}</main>
</body>
</html>
`;
}

/** The sentence the built-in page shows about the expected return, as plain text; '' when unknown. */
export function expectedBackText(retryAfterSeconds: number | undefined, until: Date | undefined): string {
  if (retryAfterSeconds === undefined) return '';
  if (!until) return `Please try again in ${describeSeconds(retryAfterSeconds)}.`;
  return `Expected back around ${clockTime(until)} (in ${describeSeconds(retryAfterSeconds)}).`;
}

function refreshTag(seconds: number | undefined): string {
  return seconds === undefined ? '' : `<meta http-equiv="refresh" content="${seconds}">\n`;
}

// The server does not know the reader's time zone, so times are spelled in UTC.
function clockTime(time: Date): string {
  return time.toUTCString().replace(/:\d\d GMT$/, ' UTC');
}

function describeSeconds(seconds: number): string {
  if (seconds < 60) return 'less than a minute';
  const plural = (count: number, unit: string) => `about ${count} ${unit}${count === 1 ? '' : 's'}`;
  if (seconds < 3600) return plural(Math.round(seconds / 60), 'minute');
  if (seconds < 48 * 3600) return plural(Math.round(seconds / 3600), 'hour');
  return plural(Math.round(seconds / 86400), 'day');
}
