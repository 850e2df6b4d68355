/**
 * The live view in a real browser: `sockscope run` on loopback, named processes streaming
 * TCP traffic, and Debian's Chromium (driven by playwright-core, never a downloaded browser)
 * opening /ui/. The page must load everything from the daemon, show the process, draw its
 * chart, and sort, filter and regroup the table. A screenshot is left in the output directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { bpfTestOptions, inCi, requireBpf } from '../helpers/bpf-gate';
import { DaemonProcess } from '../helpers/daemon';
import { NamedProcess } from '../helpers/named-process';
import { uniqueProcessName } from '../helpers/traffic';

const CHROMIUM = '/usr/bin/chromium';
/** Where the screenshot goes (dist/test-output/web-ui unless SOCKSCOPE_TEST_OUTPUT says). */
const OUTPUT_DIR = path.join(process.env.SOCKSCOPE_TEST_OUTPUT ?? path.join(__dirname, '..', '..', 'test-output'), 'web-ui');
const SEEN_WITHIN_MS = 15_000;

const skip = bpfTestOptions().skip || (!existsSync(CHROMIUM) && !inCi() ? `${CHROMIUM} is missing (Debian package chromium; scripts/setup.sh installs it)` : false);

/** The table's cells of one column, top to bottom, read in one go (the page re-renders every second). */
function column(page: Page, key: string): Promise<string[]> {
  return page.$$eval(`#rows tbody td[data-key="${key}"]`, (cells) => cells.map((c) => c.textContent ?? ''));
}

/** Polls the label column until `accept` holds; fails naming what the table showed last. */
async function waitForLabels(page: Page, what: string, accept: (labels: string[]) => boolean): Promise<string[]> {
  let labels: string[] = [];
  for (const deadline = Date.now() + SEEN_WITHIN_MS; Date.now() < deadline; ) {
    labels = await column(page, 'label');
    if (accept(labels)) return labels;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the table never showed ${what} within ${SEEN_WITHIN_MS} ms; last labels: ${JSON.stringify(labels)}`);
}

describe('the live view in Chromium', { skip }, () => {
  let daemon: DaemonProcess;
  let origin: string;
  let server: NamedProcess;
  let client: NamedProcess;
  let browser: Browser;
  let page: Page;
  const serverName = uniqueProcessName('sswebsrv');
  const clientName = uniqueProcessName('sswebcli');
  const requests: string[] = [];
  const failures: string[] = [];

  before(async () => {
    requireBpf();
    daemon = await DaemonProcess.start(
      ['--prometheus.host', '127.0.0.1', '--prometheus.port', '0', '--log.level', 'info'],
      'serving Prometheus metrics on /metrics',
    );
    const port = (await daemon.waitForLog((l) => l.msg === 'serving Prometheus metrics on /metrics', 1000)).port as number;
    origin = `http://127.0.0.1:${port}`;
    server = NamedProcess.start({ name: serverName, mode: 'serve', host: '127.0.0.1' });
    const { port: serverPort } = await server.reply<{ port: number }>();
    // 64 KiB every 100 ms: a steady 640 KiB/s, enough to rank among the top rows.
    client = NamedProcess.start({ name: clientName, mode: 'stream', host: '127.0.0.1', port: serverPort, bytes: 64 * 1024 });
    await client.reply();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('requestfailed', (r) => failures.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') failures.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await client?.exit();
    await server?.exit();
    await daemon?.stop();
  });

  test('the page loads and shows the streaming process within a few seconds', async () => {
    const response = await page.goto(`${origin}/ui/`);
    assert.equal(response?.status(), 200);
    await waitForLabels(page, clientName, (labels) => labels.some((l) => l.includes(clientName)));
    const row = await page.$$eval(
      '#rows tbody tr',
      (rows, name) => rows.filter((r) => r.querySelector('td[data-key="label"]')?.textContent?.includes(name)).map((r) => r.querySelector('td[data-key="connections"]')?.textContent),
      clientName,
    );
    assert.deepEqual(row.length, 1, `one row for ${clientName}`);
    assert.equal(row[0], '1', 'the stream holds one connection');
  });

  test('the chart draws its lines: coloured pixels on the canvas', async () => {
    // uPlot draws axes and grid in greys; only series strokes are saturated colours.
    await page.waitForFunction(
      () => {
        const canvas = document.querySelector<HTMLCanvasElement>('#chart canvas');
        const ctx = canvas?.getContext('2d');
        if (!canvas || !ctx || canvas.width === 0) return false;
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        let coloured = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
          if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured++;
        }
        return coloured > 50;
      },
      undefined,
      { timeout: SEEN_WITHIN_MS, polling: 250 },
    );
    const series = await page.$$eval('#chart .u-legend .u-series', (items) => items.length);
    assert.ok(series >= 2, `the legend has the time and at least one row (${series})`);
  });

  test('sorting by a column reorders the table', async () => {
    await page.click('#rows thead th[data-key="label"]');
    assert.equal(await page.getAttribute('#rows thead th[data-key="label"]', 'aria-sort'), 'ascending');
    const ascending = await column(page, 'label');
    assert.ok(ascending.length >= 2, `at least the two test processes (${ascending.length} rows)`);
    assert.deepEqual(ascending, [...ascending].sort((a, b) => a.localeCompare(b)));
    await page.click('#rows thead th[data-key="label"]');
    const descending = await column(page, 'label');
    assert.deepEqual(descending, [...descending].sort((a, b) => b.localeCompare(a)));
    await page.click('#rows thead th[data-key="connections"]');
    const connections = (await column(page, 'connections')).map(Number);
    assert.deepEqual(connections, [...connections].sort((a, b) => b - a));
  });

  test('the filter keeps only the rows, and chart lines, whose name contains it', async () => {
    await page.fill('#filter', clientName);
    await waitForLabels(page, `only ${clientName}`, (labels) => labels.length > 0 && labels.every((l) => l.includes(clientName)));
    assert.ok(!(await column(page, 'label')).some((l) => l.includes(serverName)));
    // The chart follows the filter: its one line is the streaming process.
    let legend: string[] = [];
    for (const deadline = Date.now() + SEEN_WITHIN_MS; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      legend = await page.$$eval('#chart .u-legend .u-series .u-label', (labels) => labels.slice(1).map((l) => l.textContent ?? ''));
      if (legend.length === 1 && legend[0]!.includes(clientName)) break;
    }
    assert.equal(legend.length, 1, `chart series: ${JSON.stringify(legend)}`);
    assert.ok(legend[0]!.includes(clientName), `chart series: ${JSON.stringify(legend)}`);
    await page.fill('#filter', '');
    await waitForLabels(page, 'both test processes', (labels) => [clientName, serverName].every((n) => labels.some((l) => l.includes(n))));
  });

  test('the group-by switch regroups the rows', async () => {
    await page.selectOption('#group', 'unit');
    await waitForLabels(page, 'units instead of processes', (labels) => labels.length > 0 && !labels.some((l) => l.includes(clientName)));
    await page.selectOption('#group', 'process');
    await waitForLabels(page, clientName, (labels) => labels.some((l) => l.includes(clientName)));
  });

  test('a screenshot is left in the output directory', async () => {
    await page.click('#rows thead th[data-key="traffic"]');
    mkdirSync(OUTPUT_DIR, { recursive: true });
    const file = path.join(OUTPUT_DIR, 'live-view.png');
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(existsSync(file));
  });

  test('no request left the daemon, and nothing failed', () => {
    assert.ok(requests.length >= 5, `the page made its requests (${requests.length})`);
    // data: URLs (the empty favicon) are not requests to anywhere.
    const foreign = requests.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
    assert.deepEqual(foreign, []);
    assert.deepEqual(failures, []);
  });
});
