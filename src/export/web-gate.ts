/**
 * What the web config puts in front of every endpoint of the metrics server: the listener
 * (HTTP, or HTTPS with the configured certificate, swapped when the files change), the
 * client-certificate policy, basic auth and the extra response headers.
 */
import {
  createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { BasicAuth } from './basic-auth';
import { sameRateLimit, TokenBucket } from './rate-limiter';
import type { TlsPolicy, WebConfig } from './web-config';
import type { WebConfigSource } from './web-config-source';

/** The paths kubelet probes ask for. */
const PROBE_PATHS = ['/healthz', '/readyz'];

export class WebGate {
  private readonly auth = new BasicAuth();
  /** The TLS policy the listener was last given. */
  private appliedTls: TlsPolicy | undefined;
  private httpsServer: HttpsServer | undefined;
  /** The rate_limit bucket; rebuilt only when the limit itself changes, or a reload would refill it. */
  private bucket: TokenBucket | undefined;

  /** Without a source, the gate lets everything through over plain HTTP. */
  constructor(
    private readonly source: WebConfigSource | undefined,
    private readonly probesWithoutAuth = false,
  ) {}

  /** `options`: the HTTP limits (timeouts, header size), for HTTP and HTTPS alike. */
  createServer(listener: RequestListener, options: ServerOptions = {}): Server {
    const tls = this.source?.current().tls;
    if (tls === undefined) return createHttpServer(options, listener);
    this.appliedTls = tls;
    const server = createHttpsServer({ ...options, ...tls.context, ...clientCertOptions(tls) }, listener);
    this.httpsServer = server;
    // Before Node's own listener wraps the socket in TLS: a rotated certificate is used
    // from the very next handshake.
    server.prependListener('connection', () => {
      if (this.refreshTls()) server.closeIdleConnections();
    });
    return server;
  }

  /**
   * Whether the request may go on; when not, the gate has answered it (429, 401) or closed
   * the connection (a client certificate the policy refuses).
   */
  async admit(request: IncomingMessage, response: ServerResponse, path: string): Promise<boolean> {
    if (this.source === undefined) return true;
    const config = this.source.current();
    // A keep-alive connection would go on with the old certificate: this one closes after
    // its answer and idle ones now, so clients such as Prometheus handshake anew.
    if (this.refreshTls()) {
      response.setHeader('Connection', 'close');
      this.httpsServer?.closeIdleConnections();
    }
    // Before the headers and basic auth, as in the toolkit: a refused request costs no bcrypt.
    if (!this.withinRateLimit(config, path)) {
      const body = 'Too Many Requests\n';
      response.writeHead(429, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
      return false;
    }
    for (const [name, value] of Object.entries(config.headers)) response.setHeader(name, value);
    if (config.tls !== undefined && !clientCertAccepted(config.tls, request.socket as TLSSocket)) {
      request.socket.destroy();
      return false;
    }
    if (!this.needsAuth(config, path)) return true;
    if (await this.auth.allows(request.headers, config.users)) return true;
    const body = 'unauthorized\n';
    response.writeHead(401, {
      'WWW-Authenticate': 'Basic',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    response.end(body);
    return false;
  }

  private needsAuth(config: WebConfig, path: string): boolean {
    if (config.users.size === 0) return false;
    return !this.isOpenProbe(path);
  }

  /**
   * One bucket for every path, as in the toolkit; probes left open for the kubelet are left
   * out of it too, since a probe answered 429 would get the pod restarted.
   */
  private withinRateLimit(config: WebConfig, path: string): boolean {
    if (config.rateLimit === undefined) {
      this.bucket = undefined;
      return true;
    }
    if (this.bucket === undefined || !sameRateLimit(this.bucket.limit, config.rateLimit)) {
      this.bucket = new TokenBucket(config.rateLimit);
    }
    return this.isOpenProbe(path) || this.bucket.allow();
  }

  private isOpenProbe(path: string): boolean {
    return this.probesWithoutAuth && PROBE_PATHS.includes(path);
  }

  /** Gives the listener the TLS policy in force; true when it changed. */
  private refreshTls(): boolean {
    const server = this.httpsServer;
    const tls = this.source?.current().tls;
    if (server === undefined || tls === undefined || tls === this.appliedTls) return false;
    server.setSecureContext(tls.context);
    Object.assign(server, clientCertOptions(tls));
    this.appliedTls = tls;
    return true;
  }
}

/** What the TLS handshake itself enforces; the rest is clientCertAccepted's. */
function clientCertOptions(tls: TlsPolicy): { requestCert: boolean; rejectUnauthorized: boolean } {
  return {
    requestCert: tls.clientAuth !== 'NoClientCert',
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
  };
}

function clientCertAccepted(tls: TlsPolicy, socket: TLSSocket): boolean {
  if (tls.clientAuth === 'NoClientCert' || tls.clientAuth === 'RequestClientCert') return true;
  const cert = socket.getPeerCertificate();
  const given = cert !== null && Object.keys(cert).length > 0;
  if (!given) return tls.clientAuth === 'VerifyClientCertIfGiven';
  if (tls.clientAuth !== 'RequireAnyClientCert' && !socket.authorized) return false;
  if (tls.allowedSans.length === 0) return true;
  const sans = (cert.subjectaltname ?? '').split(', ');
  return tls.allowedSans.some((san) => sans.includes(san));
}
