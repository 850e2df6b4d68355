/**
 * Child process for privileges.test.ts: starts the libuv pool and V8 worker threads like
 * the daemon has, drops to the capabilities named in argv[2] (comma-separated), proves the
 * pool still works, and prints the result and every thread's sets as one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { capabilitiesInMask, dropCapabilities, readThreadCapabilities, type CapabilityName } from '../../../src/privileges';

async function main(): Promise<void> {
  await readFile('/proc/self/status'); // libuv's thread pool now exists
  const keep = (process.argv[2] ?? '').split(',').filter(Boolean) as CapabilityName[];
  const result = dropCapabilities(keep);
  await readFile('/proc/self/status'); // and still works after the drop
  const threads = readThreadCapabilities('self').map((t) => ({
    tid: t.tid,
    effective: capabilitiesInMask(t.effective),
    permitted: capabilitiesInMask(t.permitted),
    inheritable: capabilitiesInMask(t.inheritable),
    ambient: capabilitiesInMask(t.ambient),
    noNewPrivs: t.noNewPrivs,
  }));
  process.stdout.write(`${JSON.stringify({ result, threads })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
