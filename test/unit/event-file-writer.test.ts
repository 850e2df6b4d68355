/** The event file writer against real files that fail: /dev/full, a removed directory, a FIFO nobody reads. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log';
import { EventFileWriter, type EventFileStats } from '../../src/export/event-file-writer';

interface LogLine {
  level: number;
  msg: string;
  code?: string;
}

function capturedLogger(): { log: ReturnType<typeof createLogger>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

const CHECK_MS = 20;
const line = (i: number) => JSON.stringify({ event: i, pad: 'x'.repeat(100) });
const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => line(from + i));
const dropped = (s: EventFileStats) => s.dropped.buffer_full + s.dropped.write_error + s.dropped.file_removed;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, done: () => boolean, step?: () => void): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) {
    step?.();
    await sleep(CHECK_MS);
  }
  assert.ok(done(), `timed out waiting for ${what}`);
}

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'sockscope-events-'));
}

describe('EventFileWriter', () => {
  test('a file that fails every write (ENOSPC): every event counted as write_error, logged once', async () => {
    const { log, lines: logs } = capturedLogger();
    const writer = new EventFileWriter('/dev/full', { log, checkIntervalMs: CHECK_MS });
    await writer.ready();
    let given = 0;
    // Enough batches to span many reopen-and-fail rounds.
    await until(
      'several failed reopen rounds',
      () => given >= 200,
      () => {
        writer.write(lines(given, 10));
        given += 10;
      },
    );
    await writer.close();
    const stats = writer.stats();
    assert.equal(stats.written, 0);
    assert.equal(stats.dropped.write_error, given);
    assert.equal(dropped(stats), given);
    const errors = logs.filter((l) => l.level >= 50);
    assert.equal(errors.length, 1, JSON.stringify(logs));
    assert.equal(errors[0]!.code, 'ENOSPC');
  });

  test('a file that cannot be opened at start: ready() rejects with one error naming the setting and the path', async () => {
    const { log, lines: logs } = capturedLogger();
    const file = path.join(tempDir(), 'missing', 'events.jsonl');
    const writer = new EventFileWriter(file, { log, checkIntervalMs: CHECK_MS });
    await assert.rejects(writer.ready(), { message: new RegExp(`^events.file = "${file}" cannot be opened: ENOENT`) });
    await writer.close();
    assert.deepEqual(logs, [], 'the rejection is the one error');
    rmSync(path.dirname(path.dirname(file)), { recursive: true });
  });

  test('a removed directory: logged once, counted, and writing resumes when it is back', async () => {
    const root = tempDir();
    const dir = path.join(root, 'events');
    const file = path.join(dir, 'events.jsonl');
    mkdirSync(dir);
    const { log, lines: logs } = capturedLogger();
    const writer = new EventFileWriter(file, { log, checkIntervalMs: CHECK_MS });
    try {
      await writer.ready();
      writer.write(lines(0, 5));
      await until('the first lines verified in place', () => writer.stats().written === 5);

      rmSync(dir, { recursive: true });
      await until('the failure logged', () => logs.some((l) => l.code === 'ENOENT'));
      let given = 5;
      for (let i = 0; i < 5; i++, given += 3) writer.write(lines(given, 3));
      // Given while the directory is gone: dropped (at once, or when a reopen in flight fails).
      await until('15 events dropped as write_error', () => writer.stats().dropped.write_error === 15);

      mkdirSync(dir);
      const resumedAt = given;
      await until(
        'writing logged as resumed',
        () => logs.some((l) => l.msg === 'writing events to the event file again'),
        () => {
          writer.write(lines(given, 1));
          given += 1;
        },
      );
      await writer.close();

      const stats = writer.stats();
      assert.equal(stats.written + dropped(stats), given, 'every event is written or dropped');
      const inFile = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      assert.equal(inFile.length, stats.written - 5, 'the new file holds what was written after the directory came back');
      for (const l of inFile) assert.ok((JSON.parse(l) as { event: number }).event >= resumedAt);
      assert.equal(logs.filter((l) => l.code === 'ENOENT').length, 1, JSON.stringify(logs));
      assert.equal(logs.filter((l) => l.msg === 'writing events to the event file again').length, 1);
    } finally {
      await writer.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a removed file is noticed and replaced by a new one', async () => {
    const root = tempDir();
    const file = path.join(root, 'events.jsonl');
    const { log, lines: logs } = capturedLogger();
    const writer = new EventFileWriter(file, { log, checkIntervalMs: CHECK_MS });
    try {
      await writer.ready();
      writer.write(lines(0, 4));
      await until('the lines verified in place', () => writer.stats().written === 4);
      rmSync(file);
      await until('the removal noticed', () => logs.some((l) => l.msg === 'the event file was removed or replaced; reopening it'));
      writer.write(lines(4, 6));
      await writer.close();
      assert.deepEqual(writer.stats(), { written: 10, dropped: { buffer_full: 0, write_error: 0, file_removed: 0 } });
      assert.deepEqual(readFileSync(file, 'utf8'), lines(4, 6).join('\n') + '\n');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a slow reader (FIFO): the buffer is bounded, the excess dropped as buffer_full, the rest written in order', async () => {
    const root = tempDir();
    const fifo = path.join(root, 'events.fifo');
    execFileSync('mkfifo', [fifo]);
    const { log } = capturedLogger();
    const writer = new EventFileWriter(fifo, { log, checkIntervalMs: CHECK_MS, maxBufferBytes: 8 * 1024 });
    try {
      await writer.ready();
      // More than the pipe holds (64 KiB): the write stays pending, the stream does not drain.
      writer.write(lines(0, 1000));
      let given = 1000;
      for (let i = 0; i < 50; i++, given += 10) writer.write(lines(given, 10));
      // Every 10-line batch here has the same size: exactly those that fit in 8 KiB wait.
      const batchBytes = Buffer.byteLength(lines(1000, 10).join('\n') + '\n');
      const kept = Math.floor((8 * 1024) / batchBytes) * 10;
      assert.equal(writer.stats().dropped.buffer_full, 500 - kept, 'events past the bound are dropped');

      const reader = createReadStream(fifo, { encoding: 'utf8' });
      let text = '';
      reader.on('data', (c: string | Buffer) => (text += String(c)));
      const ended = new Promise<void>((r) => reader.on('end', () => r()));
      await writer.close();
      await ended;

      const stats = writer.stats();
      assert.equal(stats.written, 1000 + kept);
      assert.equal(stats.written + stats.dropped.buffer_full, given);
      assert.equal(stats.dropped.write_error + stats.dropped.file_removed, 0);
      const read = text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { event: number }).event);
      assert.equal(read.length, stats.written);
      assert.deepEqual(read, [...read].sort((a, b) => a - b), 'lines keep their order');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('close() on a file that does not drain waits a bounded time, then drops what still waits', async () => {
    const root = tempDir();
    const fifo = path.join(root, 'events.fifo');
    execFileSync('mkfifo', [fifo]);
    const { log } = capturedLogger();
    const writer = new EventFileWriter(fifo, { log, checkIntervalMs: CHECK_MS, maxBufferBytes: 8 * 1024, closeTimeoutMs: 50 });
    try {
      await writer.ready();
      writer.write(lines(0, 1000)); // stuck in the pipe
      writer.write(lines(1000, 10)); // buffered
      const closed = writer.close();
      await until('the buffered events dropped', () => writer.stats().dropped.write_error === 10);
      // The write in flight still completes once a reader comes.
      const reader = createReadStream(fifo, { encoding: 'utf8' });
      reader.resume();
      await closed;
      reader.destroy();
      assert.deepEqual(writer.stats(), { written: 1000, dropped: { buffer_full: 0, write_error: 10, file_removed: 0 } });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
