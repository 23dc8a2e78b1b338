import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { SwitchyardError } from '@switchyard/core';
import { ipMatcher } from '@switchyard/core/internal';
import type { TrustProxy } from './options';

/** The client's address and protocol as far as the `trustProxy` option lets us believe forwarded headers. */
export interface ClientAddress {
  /** The client's IP: the socket peer, or an `X-Forwarded-For` entry added by a trusted proxy. */
  ip(req: IncomingMessage): string;
  /** True on a TLS socket, or when a trusted proxy says `X-Forwarded-Proto: https`. */
  https(req: IncomingMessage): boolean;
}

/** Builds the address resolver for a trustProxy setting; throws SWITCHYARD_ERR_INVALID_OPTION on a bad one. */
export function createClientAddress(trust: TrustProxy = false): ClientAddress {
  const trusted = trustedPeer(trust);
  return {
    ip(req) {
      const peer = req.socket.remoteAddress ?? '';
      if (trust === false || trust === 0) return peer;
      // Nearest hop first: the socket peer, then X-Forwarded-For from right (added last) to left.
      const chain = [peer, ...forwardedFor(req).reverse()];
      const last = chain.length - 1;
      if (trust === true) return chain[last]!;
      if (typeof trust === 'number') return chain[Math.min(trust, last)]!;
      let hop = 0;
      while (hop < last && trusted(chain[hop]!)) hop += 1;
      return chain[hop]!;
    },
    https(req) {
      if ((req.socket as TLSSocket).encrypted === true) return true;
      if (!trusted(req.socket.remoteAddress ?? '')) return false;
      const proto = req.headers['x-forwarded-proto'];
      const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
      return first === 'https';
    },
  };
}

function trustedPeer(trust: TrustProxy): (ip: string) => boolean {
  if (typeof trust === 'boolean') return () => trust;
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0)
      throw invalidOption('trustProxy must be true, false, a hop count (0, 1, 2…) or a list of IPs/CIDRs');
    return () => trust > 0;
  }
  try {
    return ipMatcher(trust);
  } catch (error) {
    throw invalidOption(`trustProxy: ${(error as Error).message}`);
  }
}

function forwardedFor(req: IncomingMessage): string[] {
  const header = req.headers['x-forwarded-for'];
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return [];
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function invalidOption(message: string): SwitchyardError {
  return new SwitchyardError('SWITCHYARD_ERR_INVALID_OPTION', message);
}
