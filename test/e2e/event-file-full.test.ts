/**
 * `sockscope run` with `events.file` on a tiny tmpfs that fills up: the daemon stays up,
 * /metrics answers throughout, the drops are counted there, the failure is logged once,
 * and writing resumes (logged once) when there is space again. Then the same for a
 * removed directory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { DaemonProcess, type DaemonLogLine } from '../helpers/daemon';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
const READY = 'serving Prometheus metrics on /metrics';
const FAILING = 'cannot write the event file; dropping events until it can be written';
const RESUMED = 'writing events to the event file again';

/** Real TCP connections on loopback, opened and closed: each gives the daemon several state events. */
async function connections(n: number): Promise<void> {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  try {
    for (let i = 0; i < n; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1');
        c.on('error', reject);
        c.on('close', () => resolve());
        c.resume();
      });
    }
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** Scrapes /metrics every 100 ms until stopped; every scrape must answer 200. */
class MetricsPoller {
  scrapes = 0;
  failures: string[] = [];
  last = '';
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly port: number) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/metrics`);
        const body = await res.text();
        if (res.status === 200) this.last = body;
        else this.failures.push(`status ${res.status}`);
      } catch (err) {
        this.failures.push(String(err));
      }
      this.scrapes++;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The latest scrape's value of a sample, e.g. `sockscope_event_stream_written_total`. */
  value(sample: string): number | undefined {
    const line = this.last.split('\n').find((l) => l.startsWith(sample + ' '));
    return line === undefined ? undefined : Number(line.slice(sample.length + 1));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

const DROPPED_WRITE_ERROR = 'sockscope_event_stream_dropped_total{sockscope_event_stream_reason="write_error"}';
const WRITTEN = 'sockscope_event_stream_written_total';
const DROPPED_BUFFER_FULL = 'sockscope_event_stream_dropped_total{sockscope_event_stream_reason="buffer_full"}';

/** The real daemon writing its event stream to `file`, and a poller of its /metrics. */
async function startWithEventFile(file: string): Promise<{ daemon: DaemonProcess; poller: MetricsPoller }> {
  const daemon = await DaemonProcess.start(
    ['--prometheus.host', '127.0.0.1', '--prometheus.port', '0', '--log.level', 'info', '--events.file', file],
    READY,
  );
  try {
    return { daemon, poller: new MetricsPoller((await daemon.waitForLog((l) => l.msg === READY, 1000)).port as number) };
  } catch (err) {
    await daemon.stop();
    throw err;
  }
}

/** Makes connections until `done()`, a bounded number of rounds. */
async function trafficUntil(what: string, done: () => boolean, daemon: DaemonProcess, perRound = 5): Promise<void> {
  for (let round = 0; round < 300 && !done(); round++) {
    assert.equal(daemon.exitCode, null, `the daemon exited while waiting for ${what}`);
    await connections(perRound);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(done(), `not reached: ${what}`);
}

/** Waits, without making traffic, a bounded time for `done()`. */
async function waitFor(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(done(), `not reached: ${what}`);
}

/** The file's whole lines (a failed write may have left a partial one at the end). */
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(0, -1) : []);
const endsWithNewline = (file: string) => readFileSync(file, 'utf8').endsWith('\n');
const logged = (daemon: DaemonProcess, msg: string): DaemonLogLine[] => daemon.logs.filter((l) => l.msg === msg);

describe('the event file under a real daemon', bpfTestOptions(), () => {
  test('a full tmpfs: the daemon stays up, /metrics counts the drops, logged once, writing resumes with space', async (t) => {
    requireBpf();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sockscope-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    let daemon: DaemonProcess | undefined;
    let poller: MetricsPoller | undefined;
    try {
      // Most of the 64 KiB goes to a filler: the event file gets a few pages.
      const filler = path.join(dir, 'filler');
      writeFileSync(filler, Buffer.alloc(48 * 1024));
      const file = path.join(dir, 'events.jsonl');
      ({ daemon, poller } = await startWithEventFile(file));

      await trafficUntil('events dropped with write_error on /metrics', () => (poller!.value(DROPPED_WRITE_ERROR) ?? 0) > 0, daemon);
      const failures = logged(daemon, FAILING);
      assert.equal(failures.length, 1, JSON.stringify(failures));
      assert.equal(failures[0]!.code, 'ENOSPC');
      // Still full: more events, more drops, no more log lines.
      const droppedBefore = poller.value(DROPPED_WRITE_ERROR)!;
      await trafficUntil('more drops while the disk stays full', () => poller!.value(DROPPED_WRITE_ERROR)! > droppedBefore, daemon);
      assert.equal(logged(daemon, FAILING).length, 1, 'the failure is logged once, not per event or batch');
      assert.equal(logged(daemon, RESUMED).length, 0);

      // While full, the file may still hold whole lines of the batch whose write failed (counted
      // as dropped); they are cut when the file is reopened, checked below.
      const linesWhenFull = lines(file).length;
      const writtenWhenFull = poller.value(WRITTEN)!;
      t.diagnostic(`full: ${linesWhenFull} whole lines in the file (partial line: ${!endsWithNewline(file)}), written ${writtenWhenFull}, dropped ${poller.value(DROPPED_WRITE_ERROR)}`);
      rmSync(filler);
      execFileSync('mount', ['-o', 'remount,size=1m', dir]);
      await trafficUntil('new lines in the file', () => lines(file).length > linesWhenFull, daemon);
      await trafficUntil('resumption logged', () => logged(daemon!, RESUMED).length > 0, daemon);
      await trafficUntil('the written counter moving again', () => poller!.value(WRITTEN)! > writtenWhenFull, daemon);
      assert.equal(logged(daemon, RESUMED).length, 1);
      assert.equal(logged(daemon, FAILING).length, 1);
      // What the failed write left was cut on reopening: every line is whole JSON.
      for (const l of lines(file)) assert.doesNotThrow(() => JSON.parse(l), `a broken line: ${l}`);
      assert.ok(endsWithNewline(file));
      // With no new events, the written counter settles (within a check interval) on exactly the
      // lines in the file: a failed batch's leftovers were cut, not counted.
      await waitFor('the written counter equal to the lines in the file', () => poller!.value(WRITTEN) === lines(file).length);

      await poller.stop();
      t.diagnostic(`resumed: ${lines(file).length} lines, written ${poller.value(WRITTEN)}, dropped ${poller.value(DROPPED_WRITE_ERROR)}, ${poller.scrapes} scrapes`);
      assert.deepEqual(poller.failures, [], '/metrics answered every scrape');
      assert.ok(poller.scrapes > 0);
      assert.equal(await daemon.stop('SIGTERM'), 0, daemon.stderr);
    } finally {
      await poller?.stop();
      await daemon?.stop();
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a removed directory: logged once, counted, and writing resumes when it is back', async () => {
    requireBpf();
    const root = mkdtempSync(path.join(os.tmpdir(), 'sockscope-eventdir-'));
    const dir = path.join(root, 'events');
    const file = path.join(dir, 'events.jsonl');
    mkdirSync(dir);
    let daemon: DaemonProcess | undefined;
    let poller: MetricsPoller | undefined;
    try {
      ({ daemon, poller } = await startWithEventFile(file));
      await trafficUntil('events written', () => (poller!.value(WRITTEN) ?? 0) > 0, daemon);

      rmSync(dir, { recursive: true });
      await trafficUntil('the failure logged', () => logged(daemon!, FAILING).length > 0, daemon);
      assert.equal(logged(daemon, FAILING)[0]!.code, 'ENOENT');
      await trafficUntil('events dropped with write_error on /metrics', () => (poller!.value(DROPPED_WRITE_ERROR) ?? 0) > 0, daemon);

      mkdirSync(dir);
      await trafficUntil('new lines in the recreated file', () => lines(file).length > 0, daemon);
      await trafficUntil('resumption logged', () => logged(daemon!, RESUMED).length > 0, daemon);
      assert.equal(logged(daemon, FAILING).length, 1, 'the failure is logged once');
      assert.equal(logged(daemon, RESUMED).length, 1);

      await poller.stop();
      assert.deepEqual(poller.failures, [], '/metrics answered every scrape');
      assert.equal(await daemon.stop('SIGTERM'), 0, daemon.stderr);
    } finally {
      await poller?.stop();
      await daemon?.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a file that does not drain (a FIFO nobody reads): bounded buffer, drops counted, /metrics answers', async (t) => {
    requireBpf();
    const root = mkdtempSync(path.join(os.tmpdir(), 'sockscope-eventfifo-'));
    const fifo = path.join(root, 'events.fifo');
    execFileSync('mkfifo', [fifo]);
    let daemon: DaemonProcess | undefined;
    let poller: MetricsPoller | undefined;
    try {
      ({ daemon, poller } = await startWithEventFile(fifo));
      // The pipe (64 KiB) and then the 1 MiB buffer fill up.
      await trafficUntil('events dropped with buffer_full on /metrics', () => (poller!.value(DROPPED_BUFFER_FULL) ?? 0) > 0, daemon, 40);
      const writtenWhileStuck = poller.value(WRITTEN)!;
      t.diagnostic(`stuck: written ${writtenWhileStuck}, dropped buffer_full ${poller.value(DROPPED_BUFFER_FULL)}`);

      const reader = createReadStream(fifo, { encoding: 'utf8' });
      let read = '';
      reader.on('data', (c: string | Buffer) => (read += String(c)));
      await trafficUntil('the written counter moving once the file drains', () => poller!.value(WRITTEN)! > writtenWhileStuck, daemon);
      assert.ok(read.length > 0);
      assert.equal(logged(daemon, FAILING).length, 0, 'a slow file is no error');

      await poller.stop();
      t.diagnostic(`drained: written ${poller.value(WRITTEN)}, ${poller.scrapes} scrapes`);
      assert.deepEqual(poller.failures, [], '/metrics answered every scrape');
      assert.equal(await daemon.stop('SIGTERM'), 0, daemon.stderr);
      reader.destroy();
    } finally {
      await poller?.stop();
      await daemon?.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('`sockscope events` whose reader went away (EPIPE) logs it once and exits 0', async () => {
    requireBpf();
    const events = spawn(process.execPath, [CLI, 'events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    events.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = once(events, 'exit');
    try {
      // The first line, then the reader goes, as `sockscope events | head -1` does.
      let gotLine = false;
      events.stdout!.once('data', () => (gotLine = true));
      for (let round = 0; round < 300 && !gotLine && events.exitCode === null; round++) {
        await connections(2);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(gotLine, `no event line: ${stderr}`);
      events.stdout!.destroy();
      for (let round = 0; round < 300 && events.exitCode === null; round++) {
        await connections(2);
        await new Promise((r) => setTimeout(r, 100));
      }
      const [code] = await exited;
      assert.equal(code, 0, stderr);
      const epipe = stderr.split('\n').filter((l) => l.includes('"code":"EPIPE"'));
      assert.equal(epipe.length, 1, stderr);
    } finally {
      if (events.exitCode === null) events.kill('SIGTERM');
    }
  });
});
