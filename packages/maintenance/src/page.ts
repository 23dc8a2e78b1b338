import { readFileSync } from 'node:fs';
import { type Logger, SwitchyardError } from '@switchyard/core';
import { escapeHtml, renderHtmlPage } from '@switchyard/core/internal';
import type { MaintenancePage, MaintenancePageInfo } from './options';

/** Escapes text for HTML content and quoted attribute values (for custom pages; the shared helper of core). */
export { escapeHtml };

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

/** The built-in page: core's one HTML template with the state's message and when the site is expected back. */
export function defaultPage(info: MaintenancePageInfo): string {
  const title = info.state.mode === 'read-only' ? 'Read-only for maintenance' : 'Down for maintenance';
  return renderHtmlPage({ title, message: info.message, note: info.expectedBack, refreshSeconds: info.refresh });
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
  // Units switch on the rounded count, so 59:50 reads "about 1 hour", not "about 60 minutes".
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return plural(minutes, 'minute');
  const hours = Math.round(seconds / 3600);
  if (hours < 48) return plural(hours, 'hour');
  return plural(Math.round(seconds / 86400), 'day');
}
