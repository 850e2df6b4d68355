/**
 * The capability-less daemon cannot read the ns link of a root process in a pod, but can read
 * its /proc/<pid>/net/tcp: reconciliation reads such a namespace through a process known to
 * own a connection there, if that pid still names the same process (start time).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NetnsWitnesses, processStartTime } from '../../src/collector/netns-witnesses';
import { listTcpSocketsByNamespace } from '../../src/collector/proc-sockets';

const HOST_NS = 4026531840;
const POD_NS = 4026532777;
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
// 127.0.0.1:40000 -> 127.0.0.1:8080, established.
const ESTABLISHED = '   0: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 412 1 0000000000000000 20 4 30 10 -1';
/** /proc/<pid>/stat with `startTime` in field 22, and a comm that has a space and a parenthesis. */
const stat = (pid: number, startTime: number) =>
  `${pid} (py thon) S 1 ${pid} ${pid} 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 ${startTime} 1000 100 18446744073709551615\n`;

describe('reading a namespace through a witness', () => {
  let root: string;

  /** A process; `netns` undefined: its ns link is not ours to read (a root process, no CAP_SYS_PTRACE). */
  function processDir(pid: number, netns: number | undefined, startTime: number, tcp: string[]): void {
    const dir = path.join(root, String(pid));
    mkdirSync(path.join(dir, 'ns'), { recursive: true });
    mkdirSync(path.join(dir, 'net'));
    if (netns !== undefined) symlinkSync(`net:[${netns}]`, path.join(dir, 'ns', 'net'));
    writeFileSync(path.join(dir, 'stat'), stat(pid, startTime));
    writeFileSync(path.join(dir, 'net', 'tcp'), [HEADER, ...tcp, ''].join('\n'));
  }

  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'sockscope-witness-'));
    processDir(100, HOST_NS, 10, []);
    processDir(300, undefined, 5000, [ESTABLISHED]);
    symlinkSync('100', path.join(root, 'self'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('processStartTime reads field 22, past a comm with spaces and parentheses', () => {
    assert.equal(processStartTime(300, root), '5000');
    assert.equal(processStartTime(999, root), undefined);
  });

  test('without a witness, a namespace no ns link leads to is not listed', () => {
    const listing = listTcpSocketsByNamespace(root);
    assert.deepEqual([...listing.namespaces], [HOST_NS]);
    assert.equal(listing.sockets.length, 0);
  });

  test('a live witness lists its namespace, rows tagged with it', () => {
    const listing = listTcpSocketsByNamespace(root, new Map([[POD_NS, [{ tgid: 300, startTime: '5000' }]]]));
    assert.deepEqual([...listing.namespaces].sort(), [HOST_NS, POD_NS]);
    assert.deepEqual(listing.sockets.map((s) => [s.netns, s.localPort, s.state, s.inode]), [[POD_NS, 40000, 'ESTABLISHED', 412]]);
  });

  test('a reused pid (other start time) or an exited witness does not list the namespace', () => {
    for (const witness of [{ tgid: 300, startTime: '4999' }, { tgid: 999, startTime: '5000' }]) {
      const listing = listTcpSocketsByNamespace(root, new Map([[POD_NS, [witness]]]));
      assert.deepEqual([...listing.namespaces], [HOST_NS], JSON.stringify(witness));
      assert.equal(listing.sockets.length, 0);
    }
  });

  test('the next witness is tried when the first is gone', () => {
    const listing = listTcpSocketsByNamespace(root, new Map([[POD_NS, [{ tgid: 999, startTime: '1' }, { tgid: 300, startTime: '5000' }]]]));
    assert.ok(listing.namespaces.has(POD_NS));
  });
});

test('NetnsWitnesses keeps a few live processes per namespace, with their start times', () => {
  const starts = new Map<number, string>([[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd'], [5, 'e']]);
  const reads: number[] = [];
  const witnesses = new NetnsWitnesses((tgid) => (reads.push(tgid), starts.get(tgid)));
  for (const tgid of [1, 1, 2, 3, 4, 5, 9]) witnesses.note(7, tgid);
  assert.deepEqual(witnesses.all.get(7), [{ tgid: 1, startTime: 'a' }, { tgid: 2, startTime: 'b' }, { tgid: 3, startTime: 'c' }, { tgid: 4, startTime: 'd' }]);
  assert.deepEqual(reads, [1, 2, 3, 4], 'a known or surplus tgid costs no /proc read');

  starts.set(2, 'reused');
  starts.delete(3);
  witnesses.prune();
  assert.deepEqual(witnesses.all.get(7)?.map((w) => w.tgid), [1, 4]);
  witnesses.note(7, 5);
  assert.deepEqual(witnesses.all.get(7)?.map((w) => w.tgid), [1, 4, 5]);

  for (const tgid of [1, 4, 5]) starts.delete(tgid);
  witnesses.prune();
  assert.equal(witnesses.all.has(7), false, 'a namespace with no live witness is forgotten');
});
