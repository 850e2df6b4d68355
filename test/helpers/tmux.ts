/**
 * A command on a real terminal: a tmux server of its own (its own socket, no user config)
 * runs one command in a pane of a fixed size; tests type keys into it and read the screen.
 * After the command a shell prints its exit status and keeps the pane open, as a shell
 * prompt would: the terminal modes the command left behind can then be read. (A dead pane
 * would not do: tmux hides the cursor of a pane whose command has exited.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Whether tmux can be run here. */
export function tmuxInstalled(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface PaneState {
  /** The command's exit status once it exited, else null. */
  exitStatus: number | null;
  /** Whether the pane shows the alternate screen (a full-screen program that did not leave it). */
  alternateScreen: boolean;
  cursorVisible: boolean;
}

export class TmuxPane {
  private constructor(
    private readonly socket: string,
    private readonly dir: string,
  ) {}

  static start(command: readonly string[], { columns = 200, rows = 40, cwd = process.cwd() } = {}): TmuxPane {
    const dir = mkdtempSync(path.join(tmpdir(), 'sockscope-tmux-'));
    const config = path.join(dir, 'tmux.conf');
    writeFileSync(config, 'set -g history-limit 0\n');
    const pane = new TmuxPane(path.join(dir, 'socket'), dir);
    const line = `${shellLine(command)}; echo "${EXITED} $?"; exec sleep 3600`;
    pane.tmux('-f', config, 'new-session', '-d', '-s', 'test', '-x', String(columns), '-y', String(rows), '-c', cwd, line);
    return pane;
  }

  /** What the pane shows now, one string per row, trailing spaces cut. */
  screen(): string[] {
    return this.tmux('capture-pane', '-p', '-t', 'test').split('\n').map((l) => l.trimEnd());
  }

  /** Each key as tmux names it ("q", "Enter", "Escape", "C-c"), sent one at a time, as typed. */
  press(...keys: string[]): void {
    for (const key of keys) this.tmux('send-keys', '-t', 'test', key);
  }

  /** Each character of `text` as its own key. */
  type(text: string): void {
    for (const ch of text) this.tmux('send-keys', '-t', 'test', '-l', ch);
  }

  state(): PaneState {
    const [alternate, cursor] = this.tmux('display', '-p', '-t', 'test', '#{alternate_on} #{cursor_flag}').trim().split(' ');
    const exited = this.screen().map((l) => new RegExp(`^${EXITED} (\\d+)$`).exec(l)).find((m) => m !== null);
    return { exitStatus: exited ? Number(exited[1]) : null, alternateScreen: alternate === '1', cursorVisible: cursor === '1' };
  }

  /** Polls the screen until `found` returns something, or fails with the last screen. */
  async waitFor<T>(what: string, found: (screen: string[]) => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      const result = found(screen);
      if (result !== undefined && result !== false) return result;
      if (screen.some((l) => l.startsWith(EXITED))) throw new Error(`the command exited before the pane showed ${what}; it shows:\n${screen.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`the pane did not show ${what} within ${timeoutMs} ms; it shows:\n${screen.join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async waitForExit(timeoutMs = 15_000): Promise<PaneState> {
    return this.waitFor('the command exit', () => {
      const state = this.state();
      return state.exitStatus !== null ? state : undefined;
    }, timeoutMs);
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, ...args], { encoding: 'utf8', env: commandEnvironment(), timeout: 10_000 });
  }
}

/**
 * This environment without node:test's NODE_TEST_CONTEXT: a node program that inherits it
 * talks to a test runner that is not there, and draws nothing.
 */
function commandEnvironment(): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return env;
}

const EXITED = 'tmux-pane: exited with';

/** The command as one shell line, each word quoted. */
function shellLine(command: readonly string[]): string {
  return command.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
}
