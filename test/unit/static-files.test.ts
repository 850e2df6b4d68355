/**
 * The live view's files through the real metrics server on loopback, with a real directory
 * tree: it serves what is inside the root and nothing else, whatever the client sends (raw
 * request lines, not a URL library that would normalise them first). The resolver is also
 * asked directly, since the server's own URL parsing must not be what keeps files safe.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MetricsServer } from '../../src/export/metrics-server';
import { requestPathSegments, StaticFiles } from '../../src/export/static-files';
import { ViewRoutes } from '../../src/export/view-routes';
import { ViewModel } from '../../src/view/view-model';
import { FakeCollection } from '../helpers/fake-collection';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('static files', () => {
  let dir: string;
  let files: StaticFiles;
  let server: MetricsServer;
  let port: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sockscope-static-'));
    const root = path.join(dir, 'ui');
    mkdirSync(path.join(root, 'vendor'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>live</title>');
    writeFileSync(path.join(root, 'app.js'), 'export {};');
    writeFileSync(path.join(root, 'vendor', 'chart.css'), 'body{}');
    writeFileSync(path.join(dir, 'secret.txt'), 'SECRET');
    symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'escape.txt'));
    symlinkSync(dir, path.join(root, 'up'));
    symlinkSync(path.join(root, 'app.js'), path.join(root, 'alias.js'));
    files = new StaticFiles({ root });
    const fake = new FakeCollection();
    const view = new ViewModel({ collect: async () => fake.result(), plan: { hooks: [] }, version: '0.0.0' });
    const viewRoutes = new ViewRoutes(view, { uiFiles: (relativePath) => files.read(relativePath) });
    server = new MetricsServer({ host: '127.0.0.1', port: 0, isReady: () => true, viewRoutes });
    port = (await server.start()).port;
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function get(rawPath: string, method = 'GET', headers: Record<string, string> = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: rawPath, method, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('serves index.html for the directory and files by their type', async () => {
    const index = await get('/ui/');
    assert.equal(index.status, 200);
    assert.equal(index.body, '<!doctype html><title>live</title>');
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(String(index.headers['content-security-policy']), /default-src 'none'.*connect-src 'self'/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    const js = await get('/ui/app.js?v=1');
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    const css = await get('/ui/vendor/chart.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(css.body, 'body{}');
  });

  test('/ui redirects to /ui/, where the relative links of the page work', async () => {
    const answer = await get('/ui');
    assert.equal(answer.status, 308);
    assert.equal(answer.headers.location, '/ui/');
  });

  test('a symlink that stays inside the root is served', async () => {
    assert.equal((await get('/ui/alias.js')).body, 'export {};');
  });

  for (const attempt of [
    '/ui/../secret.txt',
    '/ui/vendor/../../secret.txt',
    '/ui/%2e%2e/secret.txt',
    '/ui/%2E%2E/secret.txt',
    '/ui/..%2fsecret.txt',
    '/ui/%2e%2e%2fsecret.txt',
    '/ui/..%5csecret.txt',
    '/ui/..\\secret.txt',
    '/ui//etc/passwd',
    '/ui/%2fetc%2fpasswd',
    '/ui/escape.txt',
    '/ui/up/secret.txt',
    '/ui/index.html%00.js',
    '/ui/%252e%252e/secret.txt',
    '/ui/%e0%a4%a',
    '/ui/vendor',
    '/ui/missing.js',
  ]) {
    test(`refuses ${attempt} with 404 and nothing of the file`, async () => {
      const answer = await get(attempt);
      assert.equal(answer.status, 404);
      assert.ok(!answer.body.includes('SECRET'));
      assert.ok(!answer.body.includes('root:'));
    });
  }

  test('the resolver alone, without the URL normalisation of the server, refuses the same', async () => {
    for (const attempt of ['../secret.txt', 'vendor/../../secret.txt', '%2e%2e/secret.txt', '..%2fsecret.txt', '/etc/passwd', 'escape.txt', 'up/secret.txt', 'index.html%00.js']) {
      assert.equal(await files.read(attempt), undefined, attempt);
    }
    assert.equal((await files.read(''))?.body.toString(), '<!doctype html><title>live</title>');
  });

  test('only GET and HEAD: others get 405 with Allow', async () => {
    const post = await get('/ui/index.html', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await get('/ui/index.html', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String('<!doctype html><title>live</title>'.length));
  });

  test('a missing root answers 404, not an error, and is served once it exists', async () => {
    const later = path.join(dir, 'built-later');
    const files = new StaticFiles({ root: later });
    assert.equal(await files.read('index.html'), undefined);
    mkdirSync(later);
    writeFileSync(path.join(later, 'index.html'), 'now');
    assert.equal((await files.read('index.html'))?.body.toString(), 'now');
  });
});

describe('request path segments', () => {
  test('plain paths, with index.html for directories', () => {
    assert.deepEqual(requestPathSegments(''), ['index.html']);
    assert.deepEqual(requestPathSegments('vendor/'), ['vendor', 'index.html']);
    assert.deepEqual(requestPathSegments('vendor/u%20plot.js'), ['vendor', 'u plot.js']);
  });

  test('anything that could leave the root is undefined', () => {
    for (const p of ['..', '.', 'a/../b', '%2e%2e/x', 'a%2fb', '/etc/passwd', 'a\\b', 'a%5cb', 'a%00b', 'a//b', '%zz', 'a%0ab']) {
      assert.equal(requestPathSegments(p), undefined, p);
    }
  });
});
