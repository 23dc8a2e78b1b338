import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A self-signed certificate and its key, as files in `dir` and as PEM text. */
export interface Certificate {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * Makes a self-signed certificate valid for a day, named `name` (its CN) and valid for 127.0.0.1, so
 * a client given it as its `ca` verifies a loopback server holding it.
 */
export function selfSignedCertificate(dir: string, name: string): Certificate {
  const [certPath, keyPath] = [join(dir, `${name}.pem`), join(dir, `${name}.key`)];
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1'],
      ...['-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'],
    ],
    { stdio: 'ignore', timeout: 30_000 },
  );
  return { certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}
