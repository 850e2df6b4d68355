/**
 * Every process the bench starts goes through here, so none outlives it: on a normal
 * exit, an uncaught error or a signal, whatever is still running is killed. Native
 * children also get PR_SET_PDEATHSIG through the `reaper` wrapper, which covers the
 * one case no handler sees: the bench itself being SIGKILLed.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';

const running = new Set<ChildProcess>();
const exitHooks: Array<() => void> = [];
let installed = false;
let reaperPath: string | undefined;

function killAll(signal: NodeJS.Signals): void {
  for (const child of running) {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

function runExitHooks(): void {
  for (const hook of exitHooks.splice(0)) {
    try {
      hook();
    } catch {
      /* best effort on the way out */
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  // 'exit' handlers must be synchronous: a signal is all we can do there.
  process.on('exit', () => {
    killAll('SIGKILL');
    runExitHooks();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`bench: ${signal}, stopping children\n`);
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? String(err)}\n`);
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

/** Wraps every later spawn in `reaper` (bench/native/reaper.c): the child dies with the bench. */
export function useReaper(path: string): void {
  reaperPath = path;
}

/** Runs on any exit, e.g. to restore a sysctl the bench changed. */
export function onBenchExit(hook: () => void): void {
  install();
  exitHooks.push(hook);
}

/** Like child_process.spawn, but the child is killed if the bench exits first. */
export function spawnChild(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  install();
  const [file, argv] = reaperPath ? [reaperPath, [command, ...args]] : [command, [...args]];
  const child = spawn(file, argv, options);
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

/** Sends `signal`, and SIGKILL if the child is still there after `graceMs`; resolves to the exit code. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    const [code] = (await exited) as [number | null];
    return code;
  } finally {
    clearTimeout(timer);
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output; rejects on a non-zero exit. */
export async function runChild(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<RunResult> {
  const child = spawnChild(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  // 'close', not 'exit': the output pipes may still hold data when the process has exited.
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
  return { code, stdout, stderr };
}

/** Resolves with the first stdout line matching `pattern`; rejects if the child exits or the time runs out. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
    };
    const onData = (chunk: Buffer | string): void => {
      buffered += chunk.toString();
      const match = pattern.exec(buffered);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const onErr = (chunk: Buffer | string): void => {
      stderr += chunk.toString();
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`${what} exited with ${code} before it was ready: ${stderr.trim() || buffered.slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} not ready after ${timeoutMs} ms: ${stderr.trim() || buffered.slice(-2000)}`));
    }, timeoutMs);
    child.stdout!.on('data', onData);
    child.stderr?.on('data', onErr);
    child.on('exit', onExit);
  });
}
