/**
 * How the node process running sockscope must be started. Neither setting can be changed
 * from inside a running process (V8 sizes its young generation, and glibc its malloc
 * arenas, when they start), so every launcher passes them: the bin's shebang (src/cli.ts),
 * `npm start`, scripts/run.sh, the Dockerfile's ENTRYPOINT (and with it the manifests and
 * the Helm chart, which only pass arguments), and the systemd unit. test/unit/launchers.test.ts
 * checks that they all do.
 *
 * - `--max-semi-space-size=2`: the daemon's young objects are one interval's flows, a
 *   few MB; V8's default lets the young generation grow to 2 × 16 MB, which at 10k flows
 *   was ~30 MB of RSS that bought nothing.
 * - `--optimize-for-size`: V8 grows the old generation in smaller steps and collects it
 *   sooner. Each interval's flows outlive a 2 MB young generation and are promoted, so
 *   without it the old generation carried ~15 MB of dead flows at 10k flows (RSS 89–101
 *   MiB against 77–79); the daemon's CPU is far from mattering (docs/performance.md).
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that mallocs its own arena (V8's GC and
 *   compiler workers, libuv's pool, the ring-buffer drain thread), ~2–5 MB resident each
 *   once used; two arenas measured ~14 MB less at 10k flows.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--optimize-for-size'];
export const NODE_ENVIRONMENT: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** The settings this process was started without, to say so in the log. */
export function missingRuntimeSettings(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const missing = NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
  for (const [name, value] of Object.entries(NODE_ENVIRONMENT)) {
    if (env[name] !== value) missing.push(`${name}=${value}`);
  }
  return missing;
}
