import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** SHA-256 (hex) of a bypass secret: what `secretHash` in the maintenance state holds; the CLI stores the same. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** True when `candidate` is the secret whose hash is `secretHash`, compared in constant time. */
export function secretMatches(candidate: string, secretHash: string): boolean {
  const expected = Buffer.from(secretHash, 'hex');
  const actual = createHash('sha256').update(candidate, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Settings of the bypass cookie. */
export interface BypassCookieOptions {
  readonly name: string;
  readonly ttlMs: number;
  readonly domain: string | undefined;
  readonly key: string | undefined;
}

/** A cookie just issued: the Set-Cookie header value and when it stops working. */
export interface IssuedCookie {
  readonly header: string;
  readonly expiresAt: number;
}

/**
 * Signed, expiring bypass cookies: `<expiresAt ms>.<HMAC-SHA256(site, expiresAt)>`. The HMAC key is
 * derived from the state's secretHash (and the server-side key, if any), so a new secret
 * invalidates every cookie issued for the old one, and a cookie for one site does not open another.
 */
export class BypassCookies {
  private readonly options: BypassCookieOptions;

  constructor(options: BypassCookieOptions) {
    this.options = options;
  }

  /** Issues a cookie for `site` valid from `now` for the configured time. */
  issue(site: string, secretHash: string, secure: boolean, now: number): IssuedCookie {
    const { name, ttlMs, domain } = this.options;
    const expiresAt = now + ttlMs;
    const value = `${expiresAt}.${this.sign(site, secretHash, expiresAt).toString('base64url')}`;
    const attributes = [
      `${name}=${value}`,
      'Path=/',
      `Max-Age=${Math.ceil(ttlMs / 1000)}`,
      `Expires=${new Date(expiresAt).toUTCString()}`,
      'HttpOnly',
      'SameSite=Lax',
    ];
    if (secure) attributes.push('Secure');
    if (domain) attributes.push(`Domain=${domain}`);
    return { header: attributes.join('; '), expiresAt };
  }

  /** True when the Cookie header carries an unexpired cookie signed for this site and secret. */
  verify(cookieHeader: string | undefined, site: string, secretHash: string, now: number): boolean {
    const value = cookieHeader === undefined ? undefined : cookieValue(cookieHeader, this.options.name);
    if (!value) return false;
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return false;
    const expiresAt = Number(match[1]);
    if (expiresAt <= now) return false;
    const expected = this.sign(site, secretHash, expiresAt);
    const actual = Buffer.from(match[2]!, 'base64url');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  private sign(site: string, secretHash: string, expiresAt: number): Buffer {
    const key = createHmac('sha256', this.options.key ?? 'switchyard-bypass')
      .update(secretHash)
      .digest();
    return createHmac('sha256', key).update(`${site}\n${expiresAt}`).digest();
  }
}

function cookieValue(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
