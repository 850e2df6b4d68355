/**
 * A throwaway certificate authority made with openssl, for TLS tests: a CA, server
 * certificates for 127.0.0.1, client certificates. Every file is PEM in `dir`.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
  /** SHA-256 fingerprint as node's X509Certificate and TLSSocket write it. */
  fingerprint256: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class TestCa implements CertFiles {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint256: string;

  /** A self-signed CA called `name`, its files named after it. */
  constructor(private readonly dir: string, readonly name: string) {
    this.cert = path.join(dir, `${name}.crt`);
    this.key = path.join(dir, `${name}.key`);
    openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', `/CN=${name}`, '-keyout', this.key, '-out', this.cert,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    this.fingerprint256 = fingerprintOf(this.cert);
  }

  /** A certificate signed by this CA; `sans` like "IP:127.0.0.1" or "DNS:client.test". */
  issue(name: string, sans: readonly string[], usage: 'serverAuth' | 'clientAuth' = 'serverAuth'): CertFiles {
    const cert = path.join(this.dir, `${name}.crt`);
    const key = path.join(this.dir, `${name}.key`);
    const csr = path.join(this.dir, `${name}.csr`);
    const ext = path.join(this.dir, `${name}.ext`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr]);
    writeFileSync(ext, `subjectAltName=${sans.join(',')}\nextendedKeyUsage=${usage}\n`);
    openssl([
      'x509', '-req', '-in', csr, '-CA', this.cert, '-CAkey', this.key, '-CAcreateserial', '-days', '2',
      '-extfile', ext, '-out', cert,
    ]);
    return { cert, key, fingerprint256: fingerprintOf(cert) };
  }
}

export function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

/** Writes `pair` as `dir`/tls.crt and tls.key, the names the tests' web configs use: certificate first, as a rotation would. */
export function installServingPair(dir: string, pair: CertFiles): void {
  copyFileSync(pair.cert, path.join(dir, 'tls.crt'));
  copyFileSync(pair.key, path.join(dir, 'tls.key'));
}
