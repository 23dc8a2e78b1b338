import { BlockList, isIP } from 'node:net';
import { SwitchyardError } from './errors';

/** An IPv4 or IPv6 address or CIDR block, parsed. */
export interface IpRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.1`, `10.0.0.0/8`, `::1` or `2001:db8::/32`; throws SWITCHYARD_ERR_INVALID_MAINTENANCE otherwise. */
export function parseIpRange(text: string): IpRange {
  const [address = '', prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (version === 0 || extra !== undefined || !/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new SwitchyardError(
      'SWITCHYARD_ERR_INVALID_MAINTENANCE',
      `invalid IP or CIDR ${JSON.stringify(text)}: expected an address like 203.0.113.7 or 2001:db8::1, or a block like 10.0.0.0/8`,
    );
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Builds a matcher for a list of IPs and CIDR blocks; IPv4-mapped IPv6 clients (`::ffff:a.b.c.d`) match their IPv4 form. */
export function ipMatcher(ranges: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const text of ranges) {
    const range = parseIpRange(text);
    list.addSubnet(range.address, range.prefix, range.family);
  }
  return (ip) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    const address = mapped?.[1] ?? ip;
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}
