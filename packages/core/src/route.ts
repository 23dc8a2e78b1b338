import { SwitchyardError } from './errors';

/** Where a site's traffic goes. */
export interface Route {
  /** The upstream as an absolute http(s) URL, normalised (no trailing slash unless it is the root path). */
  readonly target: string;
}

const MAX_ROUTE_LENGTH = 2048;

/**
 * Parses a route value as stored in Redis: a plain absolute `http://` or `https://` URL,
 * so `SET switchyard:route:default http://10.0.0.2:3000` is a complete flip. Surrounding whitespace
 * is trimmed (a value pasted with its newline); whitespace or a control character inside is refused.
 * Values starting with `{` are reserved for a later JSON form (weighted targets) and are refused
 * here, so a front end of this version keeps its last good route instead of guessing.
 */
export function parseRoute(raw: string): Route {
  const value = raw.trim();
  if (value === '') invalidRoute(raw, 'it is empty');
  if (value.length > MAX_ROUTE_LENGTH) invalidRoute(raw, `it is longer than ${MAX_ROUTE_LENGTH} characters`);
  if (value.startsWith('{')) invalidRoute(raw, 'the JSON form is reserved for weighted targets and not supported by this version');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    invalidRoute(raw, /\s/.test(value) ? 'it is not a URL' : `it has no scheme (did you mean http://${value}?)`);
  // WHATWG URL parsing silently drops tabs and newlines inside a URL: what is stored must be what is used.
  if (/[\s\p{Cc}\p{Cf}]/u.test(value)) invalidRoute(raw, 'it contains whitespace or a control character');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalidRoute(raw, 'it is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    invalidRoute(raw, `the scheme must be http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.hostname === '') invalidRoute(raw, 'it has no host');
  if (url.username !== '' || url.password !== '') invalidRoute(raw, 'credentials in the URL are not allowed');
  if (url.search !== '' || url.hash !== '') invalidRoute(raw, 'a query string or fragment is not allowed');
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return { target: `${url.protocol}//${url.host}${path}` };
}

// Not a closure inside parseRoute: every front end parses each new route, and a closure over `raw`
// would allocate its context on every call, valid route or not.
function invalidRoute(raw: string, why: string): never {
  throw new SwitchyardError(
    'SWITCHYARD_ERR_INVALID_ROUTE',
    `invalid route ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw)}: ${why}; expected an absolute URL like http://10.0.0.2:3000`,
  );
}
