/**
 * The HTTP endpoint Prometheus scrapes: /metrics, plus /healthz and /readyz for
 * orchestrators, and, when given its routes, the view (/, /api/v1/*, /ui/). The PrometheusExporter is used only as a MetricReader (its own
 * server never starts); prometheus-view makes each collection Prometheus-ready and
 * prometheus-text renders it. A WebGate (the web config: TLS, basic auth) stands in
 * front of every endpoint.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import { answerClientError } from './client-errors';
import { PrometheusTextSerializer } from './prometheus-text';
import { PrometheusViewBuilder } from './prometheus-view';
import type { WebConfigSource } from './web-config-source';
import type { ViewRoutes } from './view-routes';
import { WebGate } from './web-gate';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsServerOptions {
  /** Producers whose metrics this endpoint serves alongside the SDK's own. */
  metricProducers?: MetricProducer[];
  host: string;
  /** 0 picks a free port; start() reports the one bound. */
  port: number;
  /** Consulted on every GET /readyz. */
  isReady: () => boolean;
  /** Collection and readiness-check failures; `cause` holds the original error. Never thrown. */
  onError?: (error: Error) => void;
  /** Metrics dropped to keep the exposition valid; each distinct message is reported once. */
  onWarning?: (message: string) => void;
  /** Omit the `otel_scope_name` / `otel_scope_version` labels. */
  withoutScopeLabels?: boolean;
  /** TLS, basic auth and headers for every endpoint; without it, plain HTTP open to all. */
  webConfig?: WebConfigSource;
  /** /healthz and /readyz answer without basic auth (TLS still applies). */
  probesWithoutAuth?: boolean;
  /** The landing page, JSON API and live page (ui.enabled); without them /, /api/ and /ui/ answer 404. */
  viewRoutes?: ViewRoutes;
  /** Limits against clients that hold connections or trickle requests; Node's defaults where absent. */
  limits?: HttpLimits;
}

/** The prometheus.* settings of the same names (milliseconds, bytes). */
export interface HttpLimits {
  maxConnections: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxHeaderSize: number;
}

/**
 * How often Node looks for requests past headersTimeout or requestTimeout (its default, 30 s,
 * would let a slowloris client hold a connection up to that much longer than the setting says).
 */
const DEADLINE_CHECK_MS = 1000;

export interface BoundAddress {
  host: string;
  port: number;
}

const TEXT = 'text/plain; charset=utf-8';

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The paths the view's routes answer. */
function isViewPath(path: string): boolean {
  return path === '/' || path === '/api' || path.startsWith('/api/') || path === '/ui' || path.startsWith('/ui/');
}

function refuseConnect(socket: Socket): void {
  const body = 'method not allowed\n';
  socket.end(
    `HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: ${TEXT}\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class MetricsServer {
  /** Register this on the MeterProvider; the provider's shutdown() shuts it down, not stop(). */
  readonly reader: PrometheusExporter;

  private readonly options: MetricsServerOptions;
  // Both remember per-series work from one scrape to the next.
  private readonly view: PrometheusViewBuilder;
  private readonly text = new PrometheusTextSerializer();
  // Each distinct naming warning is logged once, not on every scrape.
  private readonly warned = new Set<string>();
  private readonly gate: WebGate;
  private server: Server | undefined;
  /** Set while stop() waits for open connections; responses then close theirs. */
  private stopping: Promise<void> | undefined;

  constructor(options: MetricsServerOptions) {
    this.options = options;
    this.view = new PrometheusViewBuilder({ withoutScopeLabels: options.withoutScopeLabels });
    this.gate = new WebGate(options.webConfig, options.probesWithoutAuth);
    this.reader = new PrometheusExporter({ preventServerStart: true, metricProducers: options.metricProducers });
  }

  async start(): Promise<BoundAddress> {
    if (this.server !== undefined) throw new Error('metrics server already started');
    const { host, port } = this.options;
    const limits = this.options.limits;
    const server = this.gate.createServer(
      (request, response) => void this.handle(request, response),
      limits && {
        maxHeaderSize: limits.maxHeaderSize,
        headersTimeout: limits.headersTimeout,
        requestTimeout: limits.requestTimeout,
        keepAliveTimeout: limits.keepAliveTimeout,
        connectionsCheckingInterval: DEADLINE_CHECK_MS,
      },
    );
    // Past the limit, Node closes a new connection as it arrives.
    if (limits) server.maxConnections = limits.maxConnections;
    // Without a listener Node would drop a CONNECT request without an answer.
    server.on('connect', (_request: IncomingMessage, socket: Socket) => refuseConnect(socket));
    server.on('clientError', answerClientError);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        this.server = undefined;
        const cause = error.code ? `${error.code} (${error.message})` : error.message;
        reject(new Error(`metrics server cannot listen on ${hostPort(host, port)}: ${cause}`, { cause: error }));
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (error) => this.reportError('metrics server error', error));
    const address = server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** Stops accepting connections and resolves once open ones have finished. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.stopping ??= new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      // Keep-alive connections would otherwise hold close() open until they time out;
      // busy ones are closed after their response (see send()).
      server.closeIdleConnections();
    }).finally(() => {
      this.server = undefined;
      this.stopping = undefined;
    });
    await this.stopping;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let path: string;
    try {
      path = new URL(request.url ?? '/', 'http://localhost').pathname;
    } catch {
      this.send(response, 400, TEXT, 'bad request\n');
      return;
    }
    try {
      if (!(await this.gate.admit(request, response, path))) return;
    } catch (error) {
      this.reportError('web config check failed', error);
      this.send(response, 500, TEXT, 'internal error\n');
      return;
    }
    const own = path === '/metrics' || path === '/healthz' || path === '/readyz';
    if (!own && !(this.options.viewRoutes && isViewPath(path))) {
      this.send(response, 404, TEXT, 'not found\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      this.send(response, 405, TEXT, 'method not allowed\n');
      return;
    }
    if (path === '/metrics') void this.serveMetrics(response);
    else if (path === '/readyz') this.serveReadiness(response);
    else if (path === '/healthz') this.send(response, 200, TEXT, 'ok\n');
    else await this.serveView(this.options.viewRoutes!, path, request.url ?? '/', response);
  }

  private async serveView(routes: ViewRoutes, path: string, url: string, response: ServerResponse): Promise<void> {
    try {
      const reply = await routes.answer(path, new URL(url, 'http://localhost').searchParams);
      if (!reply) return this.send(response, 404, TEXT, 'not found\n');
      for (const [name, value] of Object.entries(reply.headers ?? {})) response.setHeader(name, value);
      this.send(response, reply.status, reply.contentType, reply.body);
    } catch (error) {
      this.reportError(`serving ${path} failed`, error);
      const message = `view failed: ${errorText(error)}`;
      if (path.startsWith('/api')) this.send(response, 500, 'application/json; charset=utf-8', `${JSON.stringify({ error: message })}\n`);
      else this.send(response, 500, TEXT, `${message}\n`);
    }
  }

  private serveReadiness(response: ServerResponse): void {
    let ready: boolean;
    try {
      ready = this.options.isReady();
    } catch (error) {
      this.reportError('readiness check failed', error);
      this.send(response, 503, TEXT, `not ready: ${errorText(error)}\n`);
      return;
    }
    if (ready) this.send(response, 200, TEXT, 'ready\n');
    else this.send(response, 503, TEXT, 'not ready\n');
  }

  // Any collection error fails the scrape (as client_golang does by default): a 500
  // turns `up` to 0, where partial data would hide the failure.
  private async serveMetrics(response: ServerResponse): Promise<void> {
    try {
      const { resourceMetrics, errors } = await this.reader.collect();
      if (errors.length > 0) {
        const message = `metrics collection failed: ${errors.map(errorText).join('; ')}`;
        this.reportError(message, errors.length === 1 ? errors[0] : new AggregateError(errors, message));
        this.send(response, 500, TEXT, `${message}\n`);
        return;
      }
      const view = this.view.build(resourceMetrics);
      for (const warning of view.warnings) this.warnOnce(warning);
      // The spec wants no target_info for an empty resource.
      const withoutTargetInfo = Object.keys(view.resourceMetrics.resource.attributes).length === 0;
      const body = this.text.serialize(view.resourceMetrics, { withoutTargetInfo });
      // Encoded once, where byteLength() and end() would each walk the string.
      this.send(response, 200, PROMETHEUS_CONTENT_TYPE, Buffer.from(body, 'utf8'));
    } catch (error) {
      this.reportError('metrics collection failed', error);
      this.send(response, 500, TEXT, `metrics collection failed: ${errorText(error)}\n`);
    }
  }

  private send(response: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
    if (response.headersSent || response.destroyed) return;
    response.writeHead(status, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      ...(this.stopping !== undefined ? { Connection: 'close' } : {}),
    });
    // Node drops the body itself for HEAD and keeps Content-Length as for GET.
    response.end(body);
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.callHook(() => this.options.onWarning?.(message));
  }

  private reportError(context: string, cause: unknown): void {
    const message = context.includes(errorText(cause)) ? context : `${context}: ${errorText(cause)}`;
    this.callHook(() => this.options.onError?.(new Error(message, { cause })));
  }

  private callHook(hook: () => void): void {
    try {
      hook();
    } catch {
      // A broken log hook must not take the endpoint down.
    }
  }
}
