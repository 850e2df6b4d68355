/**
 * deploy/seccomp/sockscope.json: valid OCI form (what containerd reads; CRI-O, podman and
 * docker read it too), allows the BPF calls the runtime defaults withhold, and keeps out
 * what sockscope must never do. The container test proves it is also enough to run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { deriveProfile, formatProfile, WITHHELD, type OciSeccompProfile } from './helpers/seccomp';
import { repoPath } from './helpers/paths';
import { inCi } from '../helpers/bpf-gate';

const text = readFileSync(repoPath('deploy', 'seccomp', 'sockscope.json'), 'utf8');
const profile = JSON.parse(text) as OciSeccompProfile;
const unconditional = new Set(
  profile.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names),
);
const OCI_RULE_FIELDS = new Set(['names', 'action', 'errnoRet', 'args']);

describe('seccomp profile', () => {
  test('denies by default and is plain OCI (no moby-only includes/excludes/archMap)', () => {
    assert.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
    assert.deepEqual(Object.keys(profile).sort(), ['architectures', 'defaultAction', 'defaultErrnoRet', 'syscalls']);
    for (const rule of profile.syscalls) {
      for (const key of Object.keys(rule)) assert.ok(OCI_RULE_FIELDS.has(key), `rule field ${key}`);
    }
  });

  test('allows bpf and perf_event_open without conditions', () => {
    assert.ok(unconditional.has('bpf'));
    assert.ok(unconditional.has('perf_event_open'));
  });

  test('keeps out mounts, namespaces, ptrace, module loading, kexec, keyrings and io_uring', () => {
    const forbidden = ['mount', 'umount2', 'pivot_root', 'unshare', 'ptrace', 'process_vm_readv', 'process_vm_writev',
      'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'keyctl', 'add_key', 'reboot',
      'open_by_handle_at', 'name_to_handle_at', 'io_uring_setup', 'userfaultfd', 'swapon', 'chroot'];
    const allowedSomehow = new Set(profile.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names));
    assert.deepEqual(forbidden.filter((name) => allowedSomehow.has(name)), []);
  });

  test('setns into a network namespace only (the conntrack lookup thread, metrics.conntrackNetns)', () => {
    assert.deepEqual(profile.syscalls.filter((r) => r.names.includes('setns')), [
      { names: ['setns'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0x40000000, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
    ]);
  });

  test('clone without namespace flags only; clone3 answers ENOSYS so glibc falls back to clone', () => {
    const clone = profile.syscalls.filter((r) => r.names.includes('clone'));
    assert.deepEqual(clone, [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }]);
    assert.deepEqual(profile.syscalls.filter((r) => r.names.includes('clone3')), [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
  });

  test('sockets: IPv4, IPv6, Unix, route netlink and netfilter netlink (conntrack lookups) only', () => {
    const socket = profile.syscalls.filter((r) => r.names.includes('socket'));
    assert.deepEqual(
      socket.map((r) => r.args!.map((a) => `${a.index}=${a.value}`).join('&')),
      ['0=1', '0=2', '0=10', '0=16&2=0', '0=16&2=12'],
    );
  });

  test('the committed file is formatProfile of itself (one rule a line, stable diffs)', () => {
    assert.equal(formatProfile(profile), text);
  });

  test('re-deriving from the installed runtime default gives a profile no wider than the committed one', (t) => {
    const defaults = '/usr/share/containers/seccomp.json';
    if (!existsSync(defaults)) {
      const reason = `${defaults} (containers-common, from bash test/deploy/setup.sh) is not installed`;
      if (inCi()) assert.fail(`${reason} — CI=true, so this is a failure, not a skip`);
      t.skip(reason);
      return;
    }
    const derived = deriveProfile(JSON.parse(readFileSync(defaults, 'utf8')) as Parameters<typeof deriveProfile>[0]);
    const derivedAllowed = derived.syscalls[0]!.names;
    assert.deepEqual(derivedAllowed.filter((n) => !unconditional.has(n)), [], 'the derivation would allow more');
    assert.deepEqual(WITHHELD.filter((n) => n !== 'bpf' && n !== 'perf_event_open' && unconditional.has(n)), []);
  });
});
