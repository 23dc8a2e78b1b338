import { readFile } from 'node:fs/promises';

/**
 * How many established TCP connections on this host go to 127.0.0.1:`port` (from /proc/net/tcp).
 * A paused redis-server still lets the kernel accept connections, so this is how a test knows that
 * a CLI process has started and is now waiting for an answer that will not come.
 */
export async function connectionsTo(port: number): Promise<number> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[2] === remote && fields[3] === '01').length;
}
