/**
 * External tools the deploy tests drive (podman, promtool, systemd-analyze, setpriv...).
 * test/deploy/setup.sh installs them. Like the BPF gate: outside CI a missing tool skips
 * the test with the reason; in CI (CI=true) the test runs and fails with it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { inCi } from '../../helpers/bpf-gate';

export function missingTools(tools: readonly string[]): string[] {
  return tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
}

function missingReason(tools: readonly string[]): string | undefined {
  const missing = missingTools(tools);
  return missing.length === 0 ? undefined : `missing ${missing.join(', ')} (install with: bash test/deploy/setup.sh)`;
}

/** node:test options: skip outside CI when a tool is missing, never in CI. */
export function toolTestOptions(tools: readonly string[]): { skip: string | false } {
  const reason = missingReason(tools);
  return { skip: reason !== undefined && !inCi() ? reason : false };
}

/** Call first: throws (so the test fails) when a tool is missing. */
export function requireTools(tools: readonly string[]): void {
  const reason = missingReason(tools);
  if (reason !== undefined) throw new Error(`${reason}${inCi() ? ' — CI=true, so this is a failure, not a skip' : ''}`);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, collecting its output; never throws on a non-zero status. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${options.timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Like run, but throws with the output when the status is not 0. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: Parameters<typeof run>[2] = {},
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout.slice(-3000)}\nstderr: ${result.stderr.slice(-3000)}`);
  }
  return result;
}
