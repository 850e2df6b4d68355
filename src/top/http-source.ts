/** `sockscope top --from URL`: snapshots from a running daemon's GET /api/v1/snapshot. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { SnapshotQuery, ViewSnapshot } from '../view/snapshot';
import { SourceError, type SnapshotSource } from './source';

export interface HttpSourceOptions {
  /** The daemon, e.g. http://localhost:9464; user and password in it are basic auth. */
  url: URL;
  user?: string;
  passwordFile?: string;
  caFile?: string;
  timeoutMs?: number;
}

const API_PATH = 'api/v1/snapshot';

export class HttpSource implements SnapshotSource {
  readonly description: string;
  private readonly base: URL;
  private readonly authorization?: string;
  private readonly ca?: Buffer;
  private readonly timeoutMs: number;

  constructor(options: HttpSourceOptions) {
    const { url } = options;
    const user = options.user ?? decodeURIComponent(url.username);
    const password = options.passwordFile !== undefined ? readSecret(options.passwordFile) : decodeURIComponent(url.password);
    if (user !== '' || password !== '') this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    this.base = new URL(url.href.endsWith('/') ? url.href : `${url.href}/`);
    this.base.username = '';
    this.base.password = '';
    // Shown on screen and in errors: never the password.
    this.description = this.base.href.replace(/\/$/, '');
    this.ca = options.caFile === undefined ? undefined : readFile(options.caFile, '--ca-file');
    // A daemon's first read after an idle spell collects every series once: seconds on a busy node.
    this.timeoutMs = options.timeoutMs ?? 20_000;
  }

  async snapshot(query: SnapshotQuery): Promise<ViewSnapshot> {
    const url = new URL(API_PATH, this.base);
    url.searchParams.set('group', query.groupBy);
    if (query.windowSeconds !== undefined) url.searchParams.set('window', String(query.windowSeconds));
    if (query.limit !== undefined) url.searchParams.set('limit', String(query.limit));
    if (query.filter) url.searchParams.set('filter', query.filter);
    const { status, body } = await this.get(url);
    if (status !== 200) throw new SourceError(this.explainStatus(url, status, body));
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new SourceError(`${url.href} did not answer with JSON: ${firstLine(body)}`);
    }
    if ((parsed as Partial<ViewSnapshot> | null)?.apiVersion !== 'v1') {
      throw new SourceError(`${url.href} did not answer with a v1 snapshot (apiVersion ${JSON.stringify((parsed as { apiVersion?: unknown })?.apiVersion)})`);
    }
    return parsed as ViewSnapshot;
  }

  async close(): Promise<void> {}

  private get(url: URL): Promise<{ status: number; body: string }> {
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.get(
        url,
        {
          headers: { accept: 'application/json', ...(this.authorization ? { authorization: this.authorization } : {}) },
          ...(this.ca ? { ca: this.ca } : {}),
          timeout: this.timeoutMs,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', (err) => reject(this.unreachable(err)));
        },
      );
      req.on('timeout', () => req.destroy(new SourceError(`${this.description} did not answer within ${this.timeoutMs / 1000} s`)));
      req.on('error', (err) => reject(err instanceof SourceError ? err : this.unreachable(err)));
    });
  }

  private unreachable(err: NodeJS.ErrnoException): SourceError {
    const why =
      err.code === 'ECONNREFUSED' ? 'connection refused: is `sockscope run` listening there?'
      : err.code === 'ENOTFOUND' ? 'no such host'
      : err.code === 'ECONNRESET' ? 'the connection was reset (plain http to an https listener?)'
      : /certificate|self.signed|SSL|TLS/i.test(`${err.code} ${err.message}`) ? `TLS: ${err.message}; --ca-file names the CA that signed the daemon's certificate`
      : err.message;
    return new SourceError(`cannot reach ${this.description}: ${why}`);
  }

  private explainStatus(url: URL, status: number, body: string): string {
    const at = `${url.origin}${url.pathname}`;
    switch (status) {
      case 401:
        return this.authorization
          ? `${at} answered 401: the user or password was refused`
          : `${at} answered 401: it wants basic auth: give --user and --password-file, or http://user:password@host:port`;
      case 404:
        return `${at} answered 404: no snapshot API there (a wrong path in the URL, ui.enabled=false on the daemon, or a daemon older than the API)`;
      default: {
        const error = jsonError(body);
        return `${at} answered ${status}${error ? `: ${error}` : body ? `: ${firstLine(body)}` : ''}`;
      }
    }
  }
}

/** The API's errors are {"error": "..."}. */
function jsonError(body: string): string | undefined {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    return typeof error === 'string' ? error : undefined;
  } catch {
    return undefined;
  }
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 120)}…` : line;
}

function readFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SourceError(`${flag} ${path}: ${(err as Error).message}`);
  }
}

/** A password file's content without the newline an editor leaves at its end. */
function readSecret(path: string): string {
  return readFile(path, '--password-file').toString('utf8').replace(/\r?\n$/, '');
}
