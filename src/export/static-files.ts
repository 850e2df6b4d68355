/**
 * The files of one directory (the live view's dist/ui) for the metrics server's /ui/
 * route. A request path is resolved strictly inside that directory: every way out (`..`,
 * encoded `%2e%2e` or `%2f`, backslashes, NUL, a symlink pointing elsewhere) is a 404,
 * never followed. Cache-Control: no-cache, so an upgraded daemon's page is loaded anew.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/** Where `npm run build` puts the live view, relative to this file in dist/src/export. */
export const UI_ROOT = path.resolve(__dirname, '..', '..', 'ui');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

// The page only ever talks to the daemon that served it: an air-gapped node has nowhere
// else to go, and a browser then refuses any request a bug might add. uPlot styles its
// elements through the DOM, hence the inline styles.
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The path segments a request path (as it appears in the URL, still percent-encoded, the
 * mount prefix removed) names inside the root, or undefined when it could name anything
 * outside it or is malformed. An empty path or one ending in `/` names `index.html`.
 */
export function requestPathSegments(requestPath: string): string[] | undefined {
  if (requestPath.startsWith('/') || requestPath.includes('\\')) return undefined;
  const raw = requestPath.split('/');
  if (raw.at(-1) === '') raw[raw.length - 1] = 'index.html';
  const segments: string[] = [];
  for (const encoded of raw) {
    let segment: string;
    try {
      segment = decodeURIComponent(encoded);
    } catch {
      return undefined;
    }
    // An empty segment (`a//b`) would let path.join collapse what the client meant.
    if (segment === '' || segment === '.' || segment === '..') return undefined;
    if (/[/\\\0]/.test(segment) || /[\x00-\x1f\x7f]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments;
}

export interface StaticFile {
  contentType: string;
  body: Buffer;
  /** Security and caching headers to send with it. */
  headers: Record<string, string>;
}

export interface StaticFilesOptions {
  /** The directory served; its real path (symlinks resolved) is taken once it exists. */
  root: string;
}

export class StaticFiles {
  private realRoot: string | undefined;

  constructor(private readonly options: StaticFilesOptions) {}

  /**
   * The file `requestPath` names (the URL path below the mount, percent-encoded, without
   * the query; '' for the mount itself), or undefined (a 404) when it is not a regular
   * file inside the root. The metrics server's routing answers methods and the web gate.
   */
  async read(requestPath: string): Promise<StaticFile | undefined> {
    const file = await this.resolve(requestPath);
    if (file === undefined) return undefined;
    let handle: fs.FileHandle;
    try {
      // O_NOFOLLOW: a symlink swapped in after resolve() is refused, not followed.
      handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return undefined;
    }
    try {
      if (!(await handle.stat()).isFile()) return undefined;
      return { contentType: contentTypeOf(file), body: await handle.readFile(), headers: { ...SECURITY_HEADERS, 'Cache-Control': 'no-cache' } };
    } finally {
      await handle.close();
    }
  }

  /** The real path of the file a request names, if it lies inside the root. */
  async resolve(requestPath: string): Promise<string | undefined> {
    const segments = requestPathSegments(requestPath);
    if (segments === undefined) return undefined;
    // Remembered once found; a root missing now (a build not run yet) is looked for again.
    this.realRoot ??= await fs.realpath(this.options.root).catch(() => undefined);
    const root = this.realRoot;
    if (root === undefined) return undefined;
    let real: string;
    try {
      real = await fs.realpath(path.join(root, ...segments));
    } catch {
      return undefined;
    }
    return real.startsWith(root + path.sep) ? real : undefined;
  }
}
