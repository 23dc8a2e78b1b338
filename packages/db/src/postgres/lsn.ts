/** PostgreSQL write-ahead-log positions (`pg_lsn`, written `X/Y` in hex), compared exactly as 64-bit numbers. */

/** Parses `16/B374D848`; throws on anything else. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(text.trim());
  if (!match) throw new Error(`not a PostgreSQL LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Bytes of WAL from `from` to `to` (0 when `from` is already at or past `to`). */
export function lsnBytesBehind(from: string | null, to: string): number | null {
  if (from === null) return null;
  const gap = parseLsn(to) - parseLsn(from);
  return gap > 0n ? Number(gap) : 0;
}

/** True when `lsn` is at or past `position` (null, i.e. unknown, never is). */
export function lsnReached(lsn: string | null | undefined, position: string): boolean {
  return lsn !== null && lsn !== undefined && parseLsn(lsn) >= parseLsn(position);
}
