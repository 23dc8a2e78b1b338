import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { type Started, track } from './processes';

function versionOf(binary: string): string | undefined {
  const result = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 5000 });
  return /nginx version: (\S+)/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[1];
}

/** The nginx binary and its version, or undefined. */
export function findNginx(): { binary: string; version: string } | undefined {
  for (const binary of ['nginx', '/usr/sbin/nginx']) {
    const version = versionOf(binary);
    if (version) return { binary, version };
  }
  return undefined;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts nginx in the foreground with one worker, proxying to `upstreamPort` over keep-alive
 * connections (`proxy_http_version 1.1`, `Connection ""`, an upstream `keepalive` pool), no access
 * log, everything in `dir`. The configuration is what a careful operator writes for `proxy_pass`.
 */
export async function startNginx(binary: string, dir: string, port: number, upstreamPort: number): Promise<Started> {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  const asRoot = process.getuid?.() === 0;
  writeFileSync(
    conf,
    `${asRoot ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 256; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
  );
  const child = spawn(binary, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  track(child);
  await waitForPort(port, 10_000);
  return { child, port };
}
