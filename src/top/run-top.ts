/**
 * `sockscope top`: the live view on a terminal, or one snapshot as text or JSON when asked
 * (--once, --output) or when stdout or stdin is not a terminal.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { Config } from '../config/schema';
import { createLogger, type Logger } from '../log';
import { DEFAULT_SORT } from './columns';
import { HttpSource } from './http-source';
import type { TopOptions } from './options';
import type { SnapshotSource } from './source';
import { renderText } from './text-table';
import { MAX_LIMIT } from '../view/view-model';

/**
 * The alternate screen, as top and less use it: the view draws there and the shell's screen
 * comes back as it was on exit. ink draws inside whatever screen is current.
 */
const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';

/** Resolves to the exit status. */
export async function runTop(config: Config, options: TopOptions): Promise<number> {
  const log = topLogger(config);
  let source: SnapshotSource | undefined;
  try {
    source = await openSource(config, options, log);
    const query = { groupBy: options.group, windowSeconds: options.windowMs / 1000, limit: MAX_LIMIT, filter: options.filter };
    if (options.once) {
      let snapshot = await source.snapshot(query);
      // No earlier sample (probes attached just now, or a daemon whose view was idle): no rates
      // yet. One window later there are.
      if (snapshot.windowSeconds === 0) {
        await sleep(options.windowMs);
        snapshot = await source.snapshot(query);
      }
      process.stdout.write(options.output === 'json' ? `${JSON.stringify(snapshot, null, 2)}\n` : renderText(snapshot, DEFAULT_SORT));
    } else {
      // One read first: a wrong URL or password is one line and exit 1, not a screen with an error.
      await source.snapshot(query);
      await liveView(source, options);
    }
    return 0;
  } catch (err) {
    // SourceError says what went wrong in one line; so do the collector's (e.g. AttachError).
    process.stderr.write(`sockscope top: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await source?.close();
  }
}

async function openSource(config: Config, options: TopOptions, log: Logger): Promise<SnapshotSource> {
  if (options.from) {
    return new HttpSource({ url: options.from, user: options.user, passwordFile: options.passwordFile, caFile: options.caFile });
  }
  // Loaded here: --from needs neither the native addon nor BPF.
  const { LocalSource } = await import('./local-source.js');
  return LocalSource.start(config, log);
}

async function liveView(source: SnapshotSource, options: TopOptions): Promise<void> {
  // ink draws nothing but the last frame when CI or CONTINUOUS_INTEGRATION is set (it reads them
  // as it loads); the live view only runs on a terminal, where a person is watching.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  // ink is an ES module: import() is how this CommonJS build loads it.
  const { startLiveView } = await import('./app.mjs');
  const leave = () => process.stdout.write(LEAVE_ALTERNATE_SCREEN);
  process.stdout.write(ENTER_ALTERNATE_SCREEN);
  // Also on a crash: the shell must get its screen back.
  process.once('exit', leave);
  const view = startLiveView({ source, intervalMs: options.intervalMs, windowMs: options.windowMs, group: options.group, filter: options.filter });
  // Killed or hung up: end the view as q does, so the terminal is restored and the probes detached.
  const stop = () => view.stop();
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  try {
    await view.done;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGHUP', stop);
    process.off('exit', leave);
    leave();
  }
}

/**
 * Warnings and errors on stderr: stdout is the view. In the live view stderr is the same
 * terminal, so info lines (one per attached probe) would scribble over it.
 */
function topLogger(config: Config): Logger {
  const quiet = pino.levels.values[config.log.level]! < pino.levels.values.warn! ? 'warn' : config.log.level;
  return createLogger(quiet, pino.destination({ dest: 2, sync: true }));
}
