/**
 * src/privileges.ts and the addon's capabilities.cc: what the daemon keeps at run time, and
 * a real drop in a child process, checked thread by thread in /proc.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CAPABILITY_NUMBERS,
  capabilitiesInMask,
  parseStatusCapabilities,
  runtimeCapabilities,
  dropCapabilities,
  type CapabilitiesAddon,
} from '../../src/privileges';
import { run } from './helpers/tools';
import { inCi } from '../helpers/bpf-gate';

const CHILD = path.join(__dirname, 'helpers', 'drop-child.js');

describe('capability bookkeeping', () => {
  test('names match linux/capability.h numbers and masks decode to names', () => {
    assert.equal(CAPABILITY_NUMBERS.CAP_BPF, 39);
    assert.equal(CAPABILITY_NUMBERS.CAP_PERFMON, 38);
    assert.equal(CAPABILITY_NUMBERS.CAP_SYS_PTRACE, 19);
    assert.deepEqual(capabilitiesInMask(0x000000c000080004n), ['CAP_DAC_READ_SEARCH', 'CAP_SYS_PTRACE', 'CAP_PERFMON', 'CAP_BPF']);
  });

  test('parses the Cap* and NoNewPrivs lines of a status file', () => {
    const status = 'Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t000000c000000000\nCapEff:\t0000008000000000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n';
    const parsed = parseStatusCapabilities(7, status);
    assert.equal(parsed.permitted, 0xc000000000n);
    assert.equal(parsed.effective, 0x8000000000n);
    assert.equal(parsed.noNewPrivs, true);
  });

  test('run-time needs: nothing from 6.5 on, CAP_BPF for map reads before it, CAP_SYS_ADMIN before 5.8', () => {
    assert.deepEqual(runtimeCapabilities({ release: '6.18.44-fc', unprivilegedBpfDisabled: 2 }), []);
    assert.deepEqual(runtimeCapabilities({ release: '6.5.0', unprivilegedBpfDisabled: 1 }), []);
    assert.deepEqual(runtimeCapabilities({ release: '6.1.0-18-amd64', unprivilegedBpfDisabled: 2 }), ['CAP_BPF']);
    assert.deepEqual(runtimeCapabilities({ release: '5.10.0', unprivilegedBpfDisabled: undefined }), ['CAP_BPF']);
    assert.deepEqual(runtimeCapabilities({ release: '5.4.0-150-generic', unprivilegedBpfDisabled: 1 }), ['CAP_SYS_ADMIN']);
    assert.deepEqual(runtimeCapabilities({ release: '6.1.0', unprivilegedBpfDisabled: 0 }), []);
  });

  test('conntrack backend lookups keep CAP_NET_ADMIN: every netlink query is checked against the sending thread', () => {
    assert.deepEqual(runtimeCapabilities({ release: '6.18.44-fc', unprivilegedBpfDisabled: 2 }, { conntrack: true }), ['CAP_NET_ADMIN']);
    assert.deepEqual(runtimeCapabilities({ release: '6.1.0-18-amd64', unprivilegedBpfDisabled: 2 }, { conntrack: true }), ['CAP_BPF', 'CAP_NET_ADMIN']);
  });

  test('an unknown name is refused before anything is dropped', () => {
    const addon: CapabilitiesAddon = { dropCapabilities: () => assert.fail('must not be called') };
    assert.throws(() => dropCapabilities(['CAP_NOPE' as 'CAP_BPF'], addon), /unknown capability "CAP_NOPE"/);
  });

  test('a failure reported by the addon is an error, not a log line', () => {
    const addon: CapabilitiesAddon = {
      dropCapabilities: () => ({ threadsDropped: 1, unreachableTids: [], unansweredThreads: 0, error: 'Operation not permitted', boundingSetReduced: false }),
    };
    assert.throws(() => dropCapabilities([], addon), /dropping capabilities failed: Operation not permitted/);
  });
});

const rootSkip = process.getuid?.() !== 0 && !inCi() ? 'dropping capabilities needs some to drop: run as root' : false;

describe('dropping capabilities in a real process', { skip: rootSkip }, () => {
  for (const keep of [['CAP_BPF'], []] as const) {
    test(`every thread that can be asked ends with exactly [${keep.join(', ')}], no_new_privs set`, async () => {
      const { code, stdout, stderr } = await run(process.execPath, [CHILD, keep.join(',')], { timeoutMs: 30_000 });
      assert.equal(code, 0, stderr);
      const { result, threads } = JSON.parse(stdout.trim()) as {
        result: { kept: string[]; dropped: string[]; threads: number; unreachableThreads: number[] };
        threads: Array<{ tid: number; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[]; noNewPrivs: boolean }>;
      };
      assert.deepEqual(result.kept, keep);
      assert.ok(result.dropped.includes('CAP_SYS_ADMIN') && result.dropped.includes('CAP_PERFMON'), JSON.stringify(result));
      // Node runs its V8 workers and libuv pool besides the main thread.
      assert.ok(threads.length >= 5, `threads: ${threads.length}`);
      const asked = threads.filter((t) => !result.unreachableThreads.includes(t.tid));
      assert.equal(result.threads, asked.length);
      for (const t of asked) {
        assert.deepEqual(t.effective, keep, `thread ${t.tid}`);
        assert.deepEqual(t.permitted, keep, `thread ${t.tid}`);
        assert.deepEqual([...t.inheritable, ...t.ambient], [], `thread ${t.tid}`);
        assert.equal(t.noNewPrivs, true, `thread ${t.tid}`);
      }
      // Only Node's SIGUSR1 watchdog blocks every signal; it may be the one left out.
      assert.ok(result.unreachableThreads.length <= 1, JSON.stringify(result.unreachableThreads));
    });
  }
});
