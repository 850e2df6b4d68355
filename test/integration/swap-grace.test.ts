/**
 * Exact socket I/O rests on a kernel detail that is not ABI: updating the one slot of the
 * io_socks_live array-of-maps returns only after a grace period, so no program still adds
 * to the map the addon then reads (and the io_cache_half flip before it rides on the same
 * wait). docs/architecture.md ("The swap's grace period") says why it holds; this test
 * shows it holds on this kernel, for each program type that adds to those maps here.
 *
 * test/bpf/grace.bpf.c marks `entered`, spins, then marks `left` in the inner map it looked
 * up; test/bpf/grace-check.c keeps it firing on another CPU, swaps while a program is in the
 * live map, and reads the swapped-out map right after each swap returns. A map whose marks
 * differ still has a program in it.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Implementation } from '../../src/collector/hooks';
import { bpfTestOptions, inCi, requireBpf } from '../helpers/bpf-gate';
import { matrixKernel } from '../helpers/probe-modes';
import { expectedImplementation, matrixKernelOf } from '../kernel-matrix/expected-plan';

const OUTPUT = path.join(__dirname, '..', '..', '..', 'ebpf', '.output');
const CHECKER = path.join(OUTPUT, 'grace-check');
const OBJECT = path.join(OUTPUT, 'grace.bpf.o');
const SWAPS = 100;
const SPIN_MICROS = 500;

type Swap = 'update' | 'flag' | 'flip';

interface Result {
  implementation: Implementation;
  attached: boolean;
  stage?: string;
  error?: string;
  swap?: Swap;
  swaps?: number;
  /** Swaps after which a program was still in the swapped-out map. */
  torn?: number;
  /** Swaps that began while a program was in the map they swapped out. */
  overlapped?: number;
  calls?: number;
}

/*
 * Where the table says sockscope attaches each implementation for its socket I/O hooks.
 * tp_btf hooks the same sock_send_length tracepoint as the classic one, so it attaches
 * where that does.
 */
const FORCED_MODE: Readonly<Record<Implementation, 'fentry' | 'kprobe' | 'tracepoint'>> = {
  fentry: 'fentry',
  kprobe: 'kprobe',
  tracepoint: 'tracepoint',
  tp_btf: 'tracepoint',
};

function attachesHere(implementation: Implementation): boolean | undefined {
  const kernel = inCi() ? matrixKernel() : matrixKernelOf(os.release());
  if (kernel === undefined) return undefined; // unknown outside CI: try, skip if it does not attach
  return expectedImplementation(kernel, FORCED_MODE[implementation], 'socket_send') !== 'unavailable';
}

function options(implementation: Implementation): { skip: string | false } {
  const gate = bpfTestOptions();
  if (gate.skip) return gate;
  // One CPU rarely lets a program run while the swap does; in CI that fails in the flag test.
  if (os.availableParallelism() < 2 && !inCi()) return { skip: 'needs two CPUs: programs run on one while the other swaps' };
  if (attachesHere(implementation) === false) {
    return { skip: `sockscope attaches no ${implementation} socket I/O hook on ${os.release()} (test/kernel-matrix/expected-plan.ts)` };
  }
  return { skip: false };
}

async function check(implementation: Implementation, swap: Swap): Promise<Result> {
  const { stdout } = await promisify(execFile)(CHECKER, [implementation, swap, String(SWAPS), String(SPIN_MICROS), OBJECT], {
    timeout: 240_000,
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    // Exit 1 is a program that did not load or attach: its JSON says where.
    if (err.stdout?.startsWith('{')) return { stdout: err.stdout };
    throw new Error(`${CHECKER} failed (run \`make -C ebpf test\`): ${err.message}\n${err.stderr ?? ''}`);
  });
  return JSON.parse(stdout) as Result;
}

/** The run's result, or a skip (outside CI, kernel not in the table) when it did not attach. */
async function run(t: TestContext, implementation: Implementation, swap: Swap): Promise<Result | undefined> {
  requireBpf();
  const result = await check(implementation, swap);
  t.diagnostic(JSON.stringify(result)); // the figures docs/architecture.md quotes, in the TAP
  if (!result.attached) {
    const why = `${implementation} did not ${result.stage} on ${os.release()}: ${result.error}`;
    if (attachesHere(implementation) === undefined) {
      t.skip(why);
      return undefined;
    }
    assert.fail(`${why}, but test/kernel-matrix/expected-plan.ts says sockscope attaches it here`);
  }
  // A run where no program ever raced a swap would pass without testing anything.
  assert.ok((result.calls ?? 0) > 0 && (result.overlapped ?? 0) > 0, `no swap overlapped a running program: ${JSON.stringify(result)}`);
  return result;
}

describe('map-in-map swap: the update waits for programs in the old map', () => {
  const implementations: readonly Implementation[] = ['tp_btf', 'tracepoint', 'fentry', 'kprobe'];
  for (const implementation of implementations) {
    test(`${implementation}: after the slot update returns, no program is left in the swapped-out map`, options(implementation), async (t) => {
      const result = await run(t, implementation, 'update');
      if (result) assert.equal(result.torn, 0, `programs still in the swapped-out map: ${JSON.stringify(result)}`);
    });

    test(`${implementation}: a flag flip followed by a slot update (the cache half) waits as well`, options(implementation), async (t) => {
      const result = await run(t, implementation, 'flip');
      if (result) assert.equal(result.torn, 0, `programs still in the flipped-out half: ${JSON.stringify(result)}`);
    });

    // The same check on a swap that does not wait: it must see programs still running.
    test(`${implementation}: the check sees programs still in a map swapped without the wait`, options(implementation), async (t) => {
      const result = await run(t, implementation, 'flag');
      if (result) assert.ok((result.torn ?? 0) > 0, `a plain flag flip never caught a running program: ${JSON.stringify(result)}`);
    });
  }
});
