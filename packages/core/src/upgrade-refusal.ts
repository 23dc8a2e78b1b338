import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers an upgrade request (a WebSocket handshake) that will not be upgraded: a bodiless HTTP/1.1
 * response written straight to the socket, which is then closed. `upgrade` listeners get the raw
 * socket, not a ServerResponse, so this is the only way to give the client a status instead of a reset.
 */
export function refuseUpgrade(socket: Duplex, status: number, headers: Readonly<Record<string, string>> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push('Connection: close', 'Content-Length: 0', '', '');
  socket.end(lines.join('\r\n'), () => socket.destroy());
}
