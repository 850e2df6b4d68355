/**
 * `sockscope top` on a real terminal (tmux), against real traffic from named processes: in
 * standalone mode (its own probes) and reading a real daemon over HTTPS with basic auth.
 * The bytes a process moved show up as its total and as rate x window; the sort and group
 * keys change the view; q leaves with status 0 and gives the terminal back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { bpfTestOptions, inCi, requireBpf } from '../helpers/bpf-gate';
import { DaemonProcess } from '../helpers/daemon';
import { freeLoopbackPort } from '../helpers/free-port';
import { NamedProcess } from '../helpers/named-process';
import { TmuxPane, tmuxInstalled } from '../helpers/tmux';
import { bytesShown, readFrame, type TopFrame } from '../helpers/top-screen';
import { uniqueProcessName } from '../helpers/traffic';
import { installServingPair, TestCa } from '../helpers/test-ca';
import type { ViewSnapshot } from '../../src/view/snapshot';

/** Outside CI a machine without tmux skips; in CI (setup.sh installs it) its absence fails. */
const skip = bpfTestOptions().skip || (!tmuxInstalled() && !inCi() ? 'Debian package tmux is not installed' : false);
const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
const COLUMNS = 220;
/** Sent by one named client to one named server, then both sit idle. */
const BYTES = 3 * 1024 * 1024;
/** Rates over 5 s: the traffic stays inside the window for several frames. */
const WINDOW = ['--window', '5s'];

/** A server and a client named `<token>s` and `<token>c`; the client sends BYTES and exits. */
async function namedTraffic(token: string): Promise<{ server: NamedProcess }> {
  const server = NamedProcess.start({ name: `${token}s`, mode: 'serve', host: '127.0.0.1' });
  const { port } = await server.reply<{ port: number }>();
  const client = NamedProcess.start({ name: `${token}c`, mode: 'bulk', host: '127.0.0.1', port, bytes: BYTES });
  assert.deepEqual(await client.reply<{ sent: number }>().then((r) => r.sent), BYTES);
  await client.exit();
  return { server };
}

function rowOf(frame: TopFrame, label: string) {
  return frame.rows.find((r) => r.label === label);
}

/** The first frame where both rows have counted all BYTES (what was moved, as shown). */
async function frameWithTraffic(pane: TmuxPane, token: string): Promise<TopFrame> {
  return pane.waitFor(`${token}c with ${BYTES} bytes sent`, (screen) => {
    const frame = readFrame(screen, COLUMNS);
    if (!frame) return undefined;
    const client = rowOf(frame, `${token}c`);
    const server = rowOf(frame, `${token}s`);
    const counted = client && server && bytesShown(client.txBytes) >= BYTES * 0.995 && bytesShown(server.rxBytes) >= BYTES * 0.995;
    return counted ? frame : undefined;
  });
}

/** Shown with three significant digits: a cell is within 0.5 % of the number it stands for. */
function assertAbout(shown: number, expected: number, what: string): void {
  assert.ok(Math.abs(shown - expected) <= expected * 0.01, `${what}: shown ${shown}, expected ${expected}`);
}

/** Filters the view down to the test's own processes, typed as a person would. */
async function filterTo(pane: TmuxPane, token: string): Promise<void> {
  pane.press('/');
  pane.type(token);
  // Enter once the text is in: keys that arrive together reach ink as one string of text.
  await pane.waitFor(`the draft ${token}`, (screen) => screen.some((l) => l.startsWith(`filter: ${token}▏`)) || undefined);
  pane.press('Enter');
  await pane.waitFor(`the filter ${token}`, (screen) => screen.some((l) => l.startsWith(`filter: ${token} (Esc clears)`)) || undefined);
}

async function quitAndCheckTerminal(pane: TmuxPane): Promise<void> {
  pane.press('q');
  const state = await pane.waitForExit();
  assert.equal(state.exitStatus, 0, pane.screen().join('\n'));
  assert.equal(state.alternateScreen, false, 'the alternate screen was left');
  assert.equal(state.cursorVisible, true, 'the cursor is shown again');
  assert.ok(!pane.screen().some((l) => /^(PROCESS|CONTAINER)\s+TX\/s/.test(l)), 'the view is gone from the screen');
}

/** `sockscope top --once` (stdout a pipe): status, stdout and stderr. */
function topOnce(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'top', '--once', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('sockscope top, standalone', { skip, timeout: 120_000 }, () => {
  let pane: TmuxPane | undefined;
  let server: NamedProcess | undefined;
  after(async () => {
    pane?.kill();
    await server?.exit();
  });

  test('shows a named process with the bytes it moved, sorts, groups, and q restores the terminal', async () => {
    requireBpf();
    const token = uniqueProcessName('top').slice(0, 14);
    pane = TmuxPane.start([process.execPath, CLI, 'top', ...WINDOW], { columns: COLUMNS });
    // Probes attached and a second sample taken: rates from here on.
    await pane.waitFor('the first rates', (screen) => readFrame(screen, COLUMNS)?.windowSeconds);
    ({ server } = await namedTraffic(token));
    await filterTo(pane, token);

    const frame = await frameWithTraffic(pane, token);
    const client = rowOf(frame, `${token}c`)!;
    assert.equal(frame.groupBy, 'process');
    assertAbout(bytesShown(client.txBytes), BYTES, 'client TX total');
    // All BYTES went in one burst inside the window: rate x window is what was moved.
    assertAbout(bytesShown(client.txBytesPerSecond) * frame.windowSeconds!, BYTES, `client TX/s x ${frame.windowSeconds} s`);
    assertAbout(bytesShown(rowOf(frame, `${token}s`)!.rxBytesPerSecond) * frame.windowSeconds!, BYTES, 'server RX/s x window');

    // T: by TX total, the sender first; R: by RX total, the receiver first.
    pane.press('T');
    const byTx = await pane.waitFor('sort by TX', (s) => (readFrame(s, COLUMNS)?.sort === 'TX ↓' ? readFrame(s, COLUMNS) : undefined));
    assert.deepEqual(byTx.rows.map((r) => r.label), [`${token}c`, `${token}s`]);
    pane.press('R');
    const byRx = await pane.waitFor('sort by RX', (s) => (readFrame(s, COLUMNS)?.sort === 'RX ↓' ? readFrame(s, COLUMNS) : undefined));
    assert.deepEqual(byRx.rows.map((r) => r.label), [`${token}s`, `${token}c`]);

    // Without the filter, g regroups every row by container: the processes are no rows of their own.
    // Esc alone: Esc and g together read as Alt-g.
    pane.press('Escape');
    await pane.waitFor('the filter cleared', (screen) => !screen.some((l) => l.startsWith('filter:')) || undefined);
    pane.press('g');
    const byContainer = await pane.waitFor('the container view', (s) => {
      const f = readFrame(s, COLUMNS);
      return f?.groupBy === 'container' && f.rows.length > 0 ? f : undefined;
    });
    assert.equal(byContainer.labelTitle, 'CONTAINER');
    assert.ok(!byContainer.rows.some((r) => r.label.includes(token)), JSON.stringify(byContainer.rows));

    await quitAndCheckTerminal(pane);
  });
});

describe('sockscope top --from a daemon over HTTPS with basic auth', { skip, timeout: 120_000 }, () => {
  const PASSWORD = 'top-secret';
  let dir: string;
  let ca: TestCa;
  let daemon: DaemonProcess;
  let url: string;
  let passwordFile: string;
  let pane: TmuxPane | undefined;
  let server: NamedProcess | undefined;

  before(async () => {
    requireBpf();
    dir = mkdtempSync(path.join(tmpdir(), 'sockscope-top-'));
    ca = new TestCa(dir, 'ca');
    installServingPair(dir, ca.issue('daemon', ['IP:127.0.0.1']));
    const webConfigFile = path.join(dir, 'web-config.yml');
    writeFileSync(webConfigFile, `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  top: ${bcrypt.hashSync(PASSWORD, 10)}\n`);
    passwordFile = path.join(dir, 'password');
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    daemon = await DaemonProcess.start(
      ['--prometheus.host', '127.0.0.1', '--prometheus.port', '0', '--prometheus.webConfigFile', webConfigFile],
      'serving Prometheus metrics on /metrics',
    );
    const serving = await daemon.waitForLog((l) => l.msg === 'serving Prometheus metrics on /metrics', 1000);
    url = `https://127.0.0.1:${serving.port as number}`;
  });

  after(async () => {
    pane?.kill();
    await server?.exit();
    await daemon?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the live view reads the daemon with credentials in the URL; q exits 0', async () => {
    const token = uniqueProcessName('tfr').slice(0, 14);
    const withCredentials = url.replace('https://', `https://top:${PASSWORD}@`);
    pane = TmuxPane.start([process.execPath, CLI, 'top', '--from', withCredentials, '--ca-file', ca.cert, ...WINDOW], { columns: COLUMNS });
    await pane.waitFor('the first frame', (screen) => readFrame(screen, COLUMNS));
    assert.ok(!pane.screen().join('\n').includes(PASSWORD), 'the password is not shown');
    ({ server } = await namedTraffic(token));
    await filterTo(pane, token);
    const frame = await frameWithTraffic(pane, token);
    assertAbout(bytesShown(rowOf(frame, `${token}c`)!.txBytesPerSecond) * frame.windowSeconds!, BYTES, 'client TX/s x window');
    await quitAndCheckTerminal(pane);
  });

  test('--once --output json prints one snapshot with the exact counts (--user, --password-file)', async () => {
    const token = uniqueProcessName('tfo').slice(0, 14);
    const { server: s } = await namedTraffic(token);
    await s.exit();
    const args = ['--from', url, '--ca-file', ca.cert, '--user', 'top', '--password-file', passwordFile, '--filter', token];
    // The daemon's next ingest counts the bytes: read until it has.
    let snapshot: ViewSnapshot | undefined;
    for (let i = 0; i < 20; i++) {
      const answer = await topOnce([...args, '--output', 'json']);
      assert.equal(answer.status, 0, answer.stderr);
      snapshot = JSON.parse(answer.stdout) as ViewSnapshot;
      if (snapshot.rows.find((r) => r.label === `${token}c`)?.txBytes === BYTES) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(snapshot!.apiVersion, 'v1');
    assert.equal(snapshot!.rows.find((r) => r.label === `${token}c`)?.txBytes, BYTES);
    assert.equal(snapshot!.rows.find((r) => r.label === `${token}s`)?.rxBytes, BYTES);
    const text = await topOnce(args);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^${token}c\\s+\\S+ \\S+\\s+\\S+ \\S+\\s+3\\.00 MiB\\s`, 'm'));
  });

  test('a refused password, an unknown CA, a wrong path and a closed port each fail with one line', async () => {
    const noAuth = await topOnce(['--from', url, '--ca-file', ca.cert]);
    assert.equal(noAuth.status, 1);
    assert.match(noAuth.stderr, /^sockscope top: .*answered 401: it wants basic auth.*\n$/);
    const wrong = await topOnce(['--from', url.replace('https://', 'https://top:wrong@'), '--ca-file', ca.cert]);
    assert.match(wrong.stderr, /^sockscope top: .*answered 401: the user or password was refused\n$/);
    const untrusted = await topOnce(['--from', url, '--user', 'top', '--password-file', passwordFile]);
    assert.equal(untrusted.status, 1);
    assert.match(untrusted.stderr, /^sockscope top: cannot reach https:\/\/127\.0\.0\.1:\d+: TLS: .*--ca-file.*\n$/);
    const wrongPath = await topOnce(['--from', `${url}/nothing/`, '--ca-file', ca.cert, '--user', 'top', '--password-file', passwordFile]);
    assert.equal(wrongPath.status, 1);
    assert.match(wrongPath.stderr, /^sockscope top: https:\/\/127\.0\.0\.1:\d+\/nothing\/api\/v1\/snapshot answered 404: .*\n$/);
    const closedUrl = `http://127.0.0.1:${await freeLoopbackPort()}`;
    const closed = await topOnce(['--from', closedUrl]);
    assert.equal(closed.status, 1);
    assert.match(closed.stderr, /^sockscope top: cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused.*\n$/);
    // On a terminal too: the line, not a view that shows an error.
    const live = TmuxPane.start([process.execPath, CLI, 'top', '--from', closedUrl], { columns: COLUMNS });
    try {
      const state = await live.waitForExit();
      assert.deepEqual([state.exitStatus, state.alternateScreen, state.cursorVisible], [1, false, true]);
      assert.ok(live.screen().some((l) => l.startsWith(`sockscope top: cannot reach ${closedUrl}: connection refused`)), live.screen().join('\n'));
    } finally {
      live.kill();
    }
  });
});
