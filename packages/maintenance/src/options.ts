import { type FrontEnd, type Logger, type MaintenanceState, type SiteSelectionOptions, SwitchyardError } from '@switchyard/core';

/**
 * Whom to believe about the client's address and protocol (`X-Forwarded-For`, `X-Forwarded-Proto`):
 * `false` (default) the socket only; `true` every proxy (the left-most address is the client); a
 * number of proxy hops in front of this process; or the IPs/CIDRs of the trusted proxies.
 */
export type TrustProxy = boolean | number | readonly string[];

/** What a custom page is given. Values are plain text: escape them (see escapeHtml) before putting them in HTML. */
export interface MaintenancePageInfo {
  readonly site: string;
  readonly state: MaintenanceState;
  /** HTTP status of the response. */
  readonly status: number;
  /** The state's message, or the default one for its mode. */
  readonly message: string;
  /** Seconds until the expected end (from `retryAfter` or `until`); undefined when unknown or past. */
  readonly retryAfterSeconds: number | undefined;
  /** The expected end from `until`, when it is still ahead. */
  readonly until: Date | undefined;
  /** A sentence about when the site is expected back, e.g. "Expected back around … (in about 5 minutes)."; '' when unknown. */
  readonly expectedBack: string;
  /** The `refresh` option: seconds between automatic reloads of the page, if any. */
  readonly refresh: number | undefined;
}

/** A custom maintenance page: a template file path (with `{{placeholders}}`) or a function returning HTML. */
export type MaintenancePage = string | ((info: MaintenancePageInfo) => string);

/** Options of the maintenance middleware (shared by Koa, Express/connect and plain `http`). */
export interface MaintenanceOptions extends SiteSelectionOptions {
  /** The running front end whose watcher holds the maintenance state and whose counters get refusals and holds. */
  frontEnd?: FrontEnd;
  /**
   * Static mode, without any store: `true` is `{ mode: 'on' }`, an object is a full maintenance state,
   * `false` lets everything through. Mutually exclusive with `frontEnd`.
   */
  enabled?: boolean | MaintenanceState;
  /** Default: the front end's logger, else a quiet JSON logger. */
  logger?: Logger;
  /** See TrustProxy. Default `false`. */
  trustProxy?: TrustProxy;
  /** A path that always passes (load-balancer health checks). Default `/healthz`. */
  healthPath?: string;
  /** A custom page instead of the built-in one. */
  page?: MaintenancePage;
  /** Seconds after which the HTML page reloads itself (`<meta http-equiv="refresh">`). Default: no reload. */
  refresh?: number;
  /** Most requests held at once by this middleware; more are refused at once. Default 1000; 0 disables holding. */
  maxHeld?: number;
  /** Path prefix of the secret bypass URL: the secret is the path segment after it. Default '' (`/<secret>`). */
  bypassPath?: string;
  /** Name of the bypass cookie. Default `switchyard_bypass`. */
  bypassCookieName?: string;
  /** How long a bypass cookie is valid. Default 12 hours. */
  bypassTtlMs?: number;
  /** `Domain` attribute of the bypass cookie, to cover subdomains. Default: none (this host only). */
  cookieDomain?: string;
  /**
   * @deprecated Ignored. Cookies are now signed with a key derived from the secret that is never
   * stored, so reading Redis is not enough to forge one without any extra key (docs/maintenance.md).
   */
  cookieKey?: string;
}

/** A path option: '' or a path starting with `/`, without query, fragment or whitespace. */
export function pathOption(value: string, name: string): string {
  if (value !== '' && !/^\/[^?#\s]*$/.test(value)) throw invalidOption(`${name} ${JSON.stringify(value)} must be a path starting with "/"`);
  return value;
}

/** A whole-number option within [min, max]. */
export function wholeNumber(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw invalidOption(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}

/** The error of a bad option. */
export function invalidOption(message: string): SwitchyardError {
  return new SwitchyardError('SWITCHYARD_ERR_INVALID_OPTION', message);
}
