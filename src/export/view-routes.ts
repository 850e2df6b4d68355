/**
 * The routes of the view on the metrics server: GET / (landing page), /api/v1/*
 * (docs/api.md) and /ui/ (the live page's static files, W's src/export/static-files.ts,
 * handed in as `uiFiles`). The server's web gate has admitted the request already.
 */
import { QueryError, parseHistoryQuery, parseSnapshotQuery } from '../view/query';
import type { ViewModel } from '../view/view-model';
import { landingPage } from './landing-page';

export interface Reply {
  status: number;
  contentType: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

/** One static file of the live view. */
export interface UiFile {
  contentType: string;
  body: Buffer;
}

/**
 * The hook for the live page's files: the path below /ui/ ('' for /ui/ itself) to the
 * file, or undefined for 404. Until one is given, /ui/ answers 404.
 */
export type UiFiles = (relativePath: string) => Promise<UiFile | undefined>;

export interface ViewRoutesOptions {
  uiFiles?: UiFiles;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const HTML = 'text/html; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';
// What the view shows is always the latest sample: no cache should keep an old one.
const NO_STORE = { 'Cache-Control': 'no-store' };

const json = (status: number, value: unknown): Reply => ({ status, contentType: JSON_TYPE, body: `${JSON.stringify(value)}\n`, headers: NO_STORE });
const jsonError = (status: number, message: string): Reply => json(status, { error: message });

export class ViewRoutes {
  constructor(
    private readonly view: ViewModel,
    private readonly options: ViewRoutesOptions = {},
  ) {}

  /** The reply for a GET of `path`, or undefined when the path is not the view's. */
  async answer(path: string, params: URLSearchParams): Promise<Reply | undefined> {
    if (path === '/') return this.landing();
    if (path === '/api' || path.startsWith('/api/')) return this.api(path, params);
    if (path === '/ui') return { status: 308, contentType: TEXT, body: 'see /ui/\n', headers: { Location: '/ui/' } };
    if (path.startsWith('/ui/')) return this.ui(path.slice('/ui/'.length));
    return undefined;
  }

  private async landing(): Promise<Reply> {
    this.view.noteRead();
    await this.view.ensureFresh();
    const snapshot = this.view.snapshot({ groupBy: 'process', limit: 1 });
    return { status: 200, contentType: HTML, body: landingPage(snapshot), headers: NO_STORE };
  }

  private async api(path: string, params: URLSearchParams): Promise<Reply> {
    this.view.noteRead();
    try {
      if (path === '/api/v1/snapshot') {
        const query = parseSnapshotQuery(params);
        await this.view.ensureFresh();
        return json(200, this.view.snapshot(query));
      }
      if (path === '/api/v1/history') {
        const query = parseHistoryQuery(params);
        await this.view.ensureFresh();
        return json(200, this.view.history(query));
      }
    } catch (error) {
      if (error instanceof QueryError) return jsonError(400, error.message);
      throw error;
    }
    return jsonError(404, `no API endpoint ${path}; there are /api/v1/snapshot and /api/v1/history`);
  }

  private async ui(relativePath: string): Promise<Reply> {
    const file = await this.options.uiFiles?.(relativePath);
    if (!file) return { status: 404, contentType: TEXT, body: 'not found\n' };
    return { status: 200, contentType: file.contentType, body: file.body };
  }
}
