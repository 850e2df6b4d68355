/**
 * Appends JSON lines to the event file (or stdout) and survives it: a full disk, a removed file
 * or directory, a slow disk. Nothing here blocks the event loop or grows without bound, and
 * every event given to write() ends up counted as written or dropped with a reason.
 */
import { open, stat, statfs, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Logger } from '../log';

/**
 * Why events were not written:
 * - `buffer_full`: the file did not keep up (slow disk) and the buffer was full;
 * - `write_error`: a write or (re)open failed (ENOSPC, a missing directory, EIO...), or the
 *   event arrived while the file was failing and before it was reopened;
 * - `file_removed`: written to a file that was removed or replaced before the next check.
 */
export const DROP_REASONS = ['buffer_full', 'write_error', 'file_removed'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface EventFileStats {
  /** Events written; for a file, still at its path at the check after the write. */
  written: number;
  dropped: Record<DropReason, number>;
}

export interface EventFileWriterOptions {
  log: Logger;
  /** Bytes of lines held while the file does not drain; past it events are dropped. */
  maxBufferBytes?: number;
  /** How often the file is reopened after a failure and checked for removal. */
  checkIntervalMs?: number;
  /** How long close() waits for buffered lines to be taken; the rest is dropped (write_error). */
  closeTimeoutMs?: number;
}

export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;
export const DEFAULT_CHECK_INTERVAL_MS = 1000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
/**
 * After a full disk, the file is reopened only once this much is free: a write that happens to
 * fit in the last page would otherwise flip the writer between writing and failing.
 */
export const RESUME_FREE_BYTES = 64 * 1024;

interface Chunk {
  text: string;
  bytes: number;
  events: number;
}

type State = 'opening' | 'writing' | 'failing' | 'closed';

export class EventFileWriter {
  private readonly log: Logger;
  private readonly maxBufferBytes: number;
  private readonly checkIntervalMs: number;
  private readonly closeTimeoutMs: number;
  private readonly toStdout: boolean;
  private state: State = 'opening';
  private stream?: Writable;
  /** The open file, to notice when its path no longer leads to it. */
  private identity?: { dev: number; ino: number };
  /** The error code the file is failing with, until a write succeeds again. */
  private failure?: string;
  private failureMessage = '';
  /** The file's size after the last write that succeeded: what a failed write added past it is cut. */
  private committedSize = 0;
  private buffer: Chunk[] = [];
  private bufferBytes = 0;
  /** Written since the last check that found the file at its path. */
  private unverified = 0;
  private checking = false;
  private readonly timer?: NodeJS.Timeout;
  /** The first open, which ready() reports on. */
  private readonly opened: Promise<void>;
  /** The latest open or reopen. */
  private opening: Promise<void> = Promise.resolve();
  private readonly counts: EventFileStats = { written: 0, dropped: { buffer_full: 0, write_error: 0, file_removed: 0 } };

  /** `target` is a file path (appended to) or "-" for stdout. */
  constructor(
    private readonly target: string,
    options: EventFileWriterOptions,
  ) {
    this.log = options.log.child({ eventFile: target });
    this.maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    this.checkIntervalMs = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.toStdout = target === '-';
    if (this.toStdout) {
      this.attach(process.stdout);
      this.opened = Promise.resolve();
    } else {
      this.opened = this.reopen();
      this.timer = setInterval(() => void this.check(), this.checkIntervalMs);
      this.timer.unref();
    }
  }

  /** Resolves once the file is open; rejects naming the path when it cannot be opened at start. */
  async ready(): Promise<void> {
    await this.opened;
    if (this.state === 'failing') throw new Error(`events.file = "${this.target}" cannot be opened: ${this.failureMessage}`);
  }

  stats(): EventFileStats {
    return { written: this.counts.written, dropped: { ...this.counts.dropped } };
  }

  /** Appends one line per entry (each without its newline). */
  write(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const text = lines.join('\n') + '\n';
    const chunk = { text, bytes: Buffer.byteLength(text), events: lines.length };
    if (this.state === 'failing' || this.state === 'closed') {
      this.counts.dropped.write_error += chunk.events;
    } else if (this.stream && this.state === 'writing' && this.buffer.length === 0 && !this.stream.writableNeedDrain) {
      this.send(this.stream, chunk);
    } else if (this.bufferBytes + chunk.bytes > this.maxBufferBytes) {
      this.counts.dropped.buffer_full += chunk.events;
    } else {
      this.buffer.push(chunk);
      this.bufferBytes += chunk.bytes;
    }
  }

  /** Writes what is buffered, closes the file and settles the counts. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.opening;
    const stream = this.stream;
    // A slow disk gets a while to take what waits; shutting down does not wait for ever.
    const deadline = Date.now() + this.closeTimeoutMs;
    while (stream && this.stream === stream && this.buffer.length > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, deadline - Date.now());
        stream.once('drain', done);
        stream.once('close', done);
      });
    }
    this.dropBuffer('write_error');
    this.state = 'closed';
    if (this.toStdout) return;
    if (stream && this.stream === stream) await finished(stream.end()).catch(() => undefined);
    await this.verify();
  }

  private send(stream: Writable, chunk: Chunk): void {
    stream.write(chunk.text, (err) => {
      if (err) {
        this.counts.dropped.write_error += chunk.events;
      } else if (this.toStdout) {
        this.counts.written += chunk.events;
      } else if (stream === this.stream || this.state === 'closed') {
        this.unverified += chunk.events;
        this.committedSize += chunk.bytes;
      } else {
        // The file was found removed after this write was issued.
        this.counts.dropped.file_removed += chunk.events;
      }
      if (!err && this.failure !== undefined && stream === this.stream) {
        this.log.info({ after: this.failure }, 'writing events to the event file again');
        this.failure = undefined;
      }
    });
  }

  private attach(stream: Writable): void {
    this.stream = stream;
    this.state = 'writing';
    stream.on('error', (err: NodeJS.ErrnoException) => this.fail(stream, err));
    stream.on('drain', () => this.flush(stream));
    this.flush(stream);
  }

  private flush(stream: Writable): void {
    while (this.stream === stream && this.buffer.length > 0 && !stream.writableNeedDrain) {
      const chunk = this.buffer.shift()!;
      this.bufferBytes -= chunk.bytes;
      this.send(stream, chunk);
    }
  }

  /** The stream is done for: drop what waits, and reopen on the next check (a file) or stay failed (stdout). */
  private fail(stream: Writable, err: NodeJS.ErrnoException): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    stream.destroy();
    this.noteFailure(err);
  }

  /** @param quiet at start, where ready() reports it as the one error */
  private noteFailure(err: NodeJS.ErrnoException, quiet = false): void {
    if (this.state !== 'closed') this.state = 'failing';
    this.dropBuffer('write_error');
    const code = err.code ?? err.message;
    this.failureMessage = err.message;
    if (code !== this.failure && !quiet) {
      this.log.error(
        { code, err: err.message, retryMs: this.toStdout ? undefined : this.checkIntervalMs },
        this.toStdout ? 'cannot write events to stdout; dropping them' : 'cannot write the event file; dropping events until it can be written',
      );
      this.failure = code;
    }
  }

  private dropBuffer(reason: DropReason): void {
    for (const chunk of this.buffer) this.counts.dropped[reason] += chunk.events;
    this.buffer = [];
    this.bufferBytes = 0;
  }

  private reopen(): Promise<void> {
    this.opening = this.openFile();
    return this.opening;
  }

  private async openFile(): Promise<void> {
    this.state = 'opening';
    let handle: FileHandle | undefined;
    try {
      // Read-write: a FIFO then opens without waiting for a reader (write-only would block a pool thread).
      handle = await open(this.target, 'a+');
      const st = await handle.stat();
      const sameFile = st.dev === this.identity?.dev && st.ino === this.identity.ino;
      // A failed write may have left part of its lines, counted as dropped: cut them, so the
      // file holds exactly the lines counted as written and no broken line.
      if (sameFile && st.isFile() && st.size > this.committedSize) await handle.truncate(this.committedSize);
      else this.committedSize = st.size;
      this.identity = { dev: st.dev, ino: st.ino };
    } catch (err) {
      await handle?.close().catch(() => undefined);
      this.noteFailure(err as NodeJS.ErrnoException, this.identity === undefined);
      return;
    }
    // close() may have run while the file was being opened.
    if ((this.state as State) === 'closed') {
      await handle.close();
      return;
    }
    this.attach(handle.createWriteStream());
  }

  /** Reopens a failing file; notices a file removed or replaced under its path and reopens it. */
  private async check(): Promise<void> {
    if (this.checking || this.state === 'closed' || this.state === 'opening') return;
    this.checking = true;
    try {
      if (this.state === 'failing') {
        // What was written before the failure is settled first.
        await this.verify();
        if (await this.hasRoom()) await this.reopen();
      } else if (!(await this.verify())) {
        // Writes in flight still go to the removed file, and are counted so (see send()).
        this.stream?.end();
        this.stream = undefined;
        // Written after the check's stat, before the stream went: into the removed file too.
        this.counts.dropped.file_removed += this.unverified;
        this.unverified = 0;
        this.log.warn('the event file was removed or replaced; reopening it');
        await this.reopen();
      }
    } finally {
      this.checking = false;
    }
  }

  private async hasRoom(): Promise<boolean> {
    if (this.failure !== 'ENOSPC') return true;
    const fs = await statfs(path.dirname(this.target)).catch(() => undefined);
    return fs === undefined || fs.bavail * fs.bsize >= RESUME_FREE_BYTES;
  }

  /** Moves what was written into `written` if the file is still at its path, else into `file_removed`. */
  private async verify(): Promise<boolean> {
    const events = this.unverified;
    const st = await stat(this.target).catch(() => undefined);
    const inPlace = st !== undefined && st.dev === this.identity?.dev && st.ino === this.identity.ino;
    this.unverified -= events;
    if (inPlace) this.counts.written += events;
    else this.counts.dropped.file_removed += events;
    return inPlace;
  }
}
