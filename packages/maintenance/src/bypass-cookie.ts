import { createHmac, createPrivateKey, createPublicKey, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { SwitchyardError } from '@switchyard/core';

/*
 * Why a key pair, not an HMAC (docs/maintenance.md, "Bypass"): the state in Redis is readable by every
 * front end (and whoever holds their read-only ACL), so nothing stored there may be enough to mint a
 * cookie. The secret deterministically yields an Ed25519 key pair; `secretHash` stores the public
 * key only. The front end that sees the right secret (the visit to `/<secret>`) signs the cookie with
 * the private key and keeps nothing else; every front end verifies with the public key from the
 * state. Reading Redis gives the public key, which verifies but cannot sign; a cookie holder cannot
 * extend its expiry either. A new secret is a new key pair, so it invalidates every cookie.
 */

// PKCS#8 and SPKI prefixes of a raw 32-byte Ed25519 key (RFC 8410), so raw bytes import without a library.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
// Domain separation: the seed is good for nothing but bypass cookies.
const SEED_LABEL = 'switchyard bypass cookie key v2';
/** The CLI refuses shorter secrets, so shorter candidates skip the key derivation (the costly step). */
const MIN_SECRET_LENGTH = 8;
const CACHE_LIMIT = 256;

interface DerivedKey {
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
}

// Normal traffic during maintenance repeats the same one-segment paths (`/favicon.ico`, `/about`):
// each is derived once. Cleared when full, so memory stays bounded whatever clients send.
const derived = new Map<string, DerivedKey>();
const publicKeys = new Map<string, KeyObject | null>();

function deriveKey(secret: string): DerivedKey {
  const known = derived.get(secret);
  if (known) return known;
  const seed = createHmac('sha256', SEED_LABEL).update(secret, 'utf8').digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const { x } = privateKey.export({ format: 'jwk' });
  const key = { publicKey: Buffer.from(x!, 'base64url'), privateKey };
  if (derived.size >= CACHE_LIMIT) derived.clear();
  derived.set(secret, key);
  return key;
}

function publicKeyOf(secretHash: string): KeyObject | undefined {
  let key = publicKeys.get(secretHash);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(secretHash, 'hex')]), format: 'der', type: 'spki' });
    } catch {
      // Not a point on the curve (e.g. a SHA-256 written by an older CLI): no cookie can verify.
      key = null;
    }
    if (publicKeys.size >= CACHE_LIMIT) publicKeys.clear();
    publicKeys.set(secretHash, key);
  }
  return key ?? undefined;
}

/**
 * What `secretHash` in the maintenance state holds for a bypass secret: the Ed25519 public key
 * derived from it, as 64 lower-case hex digits. The one place it is computed; the CLI stores it.
 * Throws `SWITCHYARD_ERR_INVALID_OPTION` for a secret shorter than 8 characters, which the secret
 * URL would never accept.
 */
export function hashSecret(secret: string): string {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new SwitchyardError('SWITCHYARD_ERR_INVALID_OPTION', `a bypass secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return deriveKey(secret).publicKey.toString('hex');
}

/**
 * The key that signs bypass cookies, when `candidate` is the secret whose hash is `secretHash`
 * (compared in constant time); undefined otherwise.
 */
export function unlockSecret(candidate: string, secretHash: string): KeyObject | undefined {
  if (candidate.length < MIN_SECRET_LENGTH) return undefined;
  const expected = Buffer.from(secretHash, 'hex');
  const key = deriveKey(candidate);
  return expected.length === key.publicKey.length && timingSafeEqual(expected, key.publicKey) ? key.privateKey : undefined;
}

/** Settings of the bypass cookie. */
export interface BypassCookieOptions {
  readonly name: string;
  readonly ttlMs: number;
  readonly domain: string | undefined;
}

/** A cookie just issued: the Set-Cookie header value and when it stops working. */
export interface IssuedCookie {
  readonly header: string;
  readonly expiresAt: number;
}

/**
 * Signed, expiring bypass cookies: `<expiresAt ms>.<Ed25519 signature of (site, expiresAt)>`, signed
 * with the secret's private key and verified with the public key in `secretHash`; a cookie for one
 * site does not open another.
 */
export class BypassCookies {
  private readonly options: BypassCookieOptions;

  constructor(options: BypassCookieOptions) {
    this.options = options;
  }

  /** Issues a cookie for `site`, valid from `now` for the configured time, with the key unlockSecret returned. */
  issue(site: string, signingKey: KeyObject, secure: boolean, now: number): IssuedCookie {
    const { name, ttlMs, domain } = this.options;
    const expiresAt = now + ttlMs;
    const value = `${expiresAt}.${sign(null, signedText(site, expiresAt), signingKey).toString('base64url')}`;
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

  /** True when the Cookie header carries an unexpired cookie signed for this site with the secret behind `secretHash`. */
  verify(cookieHeader: string | undefined, site: string, secretHash: string, now: number): boolean {
    const value = cookieHeader === undefined ? undefined : cookieValue(cookieHeader, this.options.name);
    if (!value) return false;
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{86})$/.exec(value);
    if (!match) return false;
    const expiresAt = Number(match[1]);
    if (expiresAt <= now) return false;
    const publicKey = publicKeyOf(secretHash);
    if (!publicKey) return false;
    return verify(null, signedText(site, expiresAt), publicKey, Buffer.from(match[2]!, 'base64url'));
  }
}

function signedText(site: string, expiresAt: number): Buffer {
  return Buffer.from(`switchyard-bypass\n${site}\n${expiresAt}`, 'utf8');
}

function cookieValue(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
