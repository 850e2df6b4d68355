/** HTTPS requests and handshakes for TLS tests: node:https with a test CA, no agent reuse. */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import type { CertFiles } from './test-ca';

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpsClient {
  /** The CA file the server certificate must chain to. */
  ca: string;
  user?: string;
  password?: string;
  /** A client certificate to present. */
  cert?: CertFiles;
}

/** GET over a new connection (agent: false), so each request sees the certificate served now. */
export function httpsGet(port: number, urlPath: string, client: HttpsClient): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1', port, path: urlPath, agent: false,
        ca: readFileSync(client.ca),
        cert: client.cert && readFileSync(client.cert.cert),
        key: client.cert && readFileSync(client.cert.key),
        auth: client.user === undefined ? undefined : `${client.user}:${client.password ?? ''}`,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The certificate the server presents on a new connection (not verified: any CA). */
export function servedCertificate(port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}
