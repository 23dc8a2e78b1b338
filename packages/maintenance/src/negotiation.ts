import type { IncomingMessage } from 'node:http';

interface Preference {
  readonly quality: number;
  /** 3 exact type, 2 `type/*` or a `+json` suffix, 1 `*\/*`, 0 not accepted. */
  readonly specificity: number;
}

const NONE: Preference = { quality: 0, specificity: 0 };

/**
 * True when the client would rather have JSON than HTML: `X-Requested-With: XMLHttpRequest`, or an
 * Accept header ranking JSON above HTML. On a tie the more explicitly named type wins, so axios'
 * `application/json, text/plain, *\/*` gets JSON and a browser's `text/html,…,*\/*;q=0.8` gets HTML.
 */
export function prefersJson(req: IncomingMessage): boolean {
  if (String(req.headers['x-requested-with'] ?? '').toLowerCase() === 'xmlhttprequest') return true;
  const accept = req.headers.accept;
  if (!accept) return false;
  let html = NONE;
  let json = NONE;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';');
    const type = range.trim().toLowerCase();
    const quality = qualityOf(params);
    html = better(html, quality, htmlSpecificity(type));
    json = better(json, quality, jsonSpecificity(type));
  }
  if (json.quality !== html.quality) return json.quality > html.quality;
  return json.quality > 0 && json.specificity > html.specificity;
}

function qualityOf(params: string[]): number {
  for (const param of params) {
    const [name, value] = param.split('=');
    if (name?.trim().toLowerCase() === 'q') {
      const quality = Number(value?.trim());
      return Number.isFinite(quality) ? Math.min(Math.max(quality, 0), 1) : 1;
    }
  }
  return 1;
}

// A more specific range decides the quality of a type (RFC 9110 §12.5.1), so `*/*;q=1, text/html;q=0` refuses HTML.
function better(current: Preference, quality: number, specificity: number): Preference {
  return specificity > current.specificity ? { quality, specificity } : current;
}

function htmlSpecificity(type: string): number {
  if (type === 'text/html' || type === 'application/xhtml+xml') return 3;
  if (type === 'text/*') return 2;
  return type === '*/*' ? 1 : 0;
}

function jsonSpecificity(type: string): number {
  if (type === 'application/json') return 3;
  if (type.endsWith('+json') || type === 'application/*') return 2;
  return type === '*/*' ? 1 : 0;
}
