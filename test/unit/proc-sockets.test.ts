/**
 * The /proc bootstrap over a fake /proc tree laid out as the kernel's: /proc/net is
 * /proc/self/net, every process of a namespace shows the same net/tcp, and each
 * network namespace must be read once, its rows tagged with its inode.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootstrapTcpSockets, listTcpSockets, netnsInode, parseProcNetTcp } from '../../src/collector/proc-sockets';

const HOST_NS = 4026531840;
const POD_NS = 4026532999;
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (sl: number, local: string, remote: string, state: string, inode: number) =>
  `   ${sl}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 20 4 30 10 -1`;
// 127.0.0.1:8080 listening; 127.0.0.1:40000 -> 127.0.0.1:8080 established, then one in TIME_WAIT (no inode).
const LISTEN = (inode: number) => row(0, '0100007F:1F90', '00000000:0000', '0A', inode);
const CLIENT = (inode: number) => row(1, '0100007F:9C40', '0100007F:1F90', '01', inode);
const TIME_WAIT = row(2, '0100007F:9C41', '0100007F:1F90', '06', 0);

describe('the /proc bootstrap', () => {
  let root: string;

  /** A process: its namespace link, comm, socket fds, and the net/tcp its namespace shows. */
  function processDir(pid: number, netns: number, comm: string, tcp: string[], socketInodes: number[]): void {
    const dir = path.join(root, String(pid));
    mkdirSync(path.join(dir, 'ns'), { recursive: true });
    mkdirSync(path.join(dir, 'fd'));
    mkdirSync(path.join(dir, 'net'));
    symlinkSync(`net:[${netns}]`, path.join(dir, 'ns', 'net'));
    writeFileSync(path.join(dir, 'comm'), `${comm}\n`);
    writeFileSync(path.join(dir, 'net', 'tcp'), [HEADER, ...tcp, ''].join('\n'));
    socketInodes.forEach((inode, fd) => symlinkSync(`socket:[${inode}]`, path.join(dir, 'fd', String(fd + 3))));
  }

  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'sockscope-proc-'));
    // Two namespaces with identical tuples: the host's (pids 100, 101; we are 100) and a pod's (200).
    const host = [LISTEN(111), CLIENT(112), TIME_WAIT];
    processDir(100, HOST_NS, 'host-srv', host, [111, 112]);
    processDir(101, HOST_NS, 'host-other', host, []);
    processDir(200, POD_NS, 'pod-srv', [LISTEN(211), CLIENT(212), TIME_WAIT], [211, 212]);
    symlinkSync('100', path.join(root, 'self'));
    symlinkSync('self/net', path.join(root, 'net'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('reads each network namespace once: no row twice, TIME_WAIT included', () => {
    const sockets = listTcpSockets(root);
    const rows = sockets.map((s) => `${s.netns} ${s.state} ${s.localPort}->${s.remotePort}`).sort();
    assert.deepEqual(rows, [
      `${HOST_NS} ESTABLISHED 40000->8080`,
      `${HOST_NS} LISTEN 8080->0`,
      `${HOST_NS} TIME_WAIT 40001->8080`,
      `${POD_NS} ESTABLISHED 40000->8080`,
      `${POD_NS} LISTEN 8080->0`,
      `${POD_NS} TIME_WAIT 40001->8080`,
    ]);
  });

  test('tags every row with its namespace, and the fd walk finds each owner', () => {
    const { sockets } = bootstrapTcpSockets(root);
    const established = sockets.filter((s) => s.state === 'ESTABLISHED');
    assert.deepEqual(
      established.map((s) => [s.netns, s.localAddress, s.remoteAddress, s.owner?.comm, s.owner?.tgid]).sort(),
      [
        [HOST_NS, '127.0.0.1', '127.0.0.1', 'host-srv', 100],
        [POD_NS, '127.0.0.1', '127.0.0.1', 'pod-srv', 200],
      ],
    );
    // /proc/<pid>/comm is the process name, and no thread is known there.
    assert.equal(established[0]!.owner?.threadName, established[0]!.owner?.comm);
  });
});

test('netnsInode reads the inode of a /proc/<pid>/ns/net link, nothing else', () => {
  assert.equal(netnsInode('net:[4026531840]'), 4026531840);
  assert.equal(netnsInode('mnt:[4026531840]'), undefined);
  assert.equal(netnsInode('net:[]'), undefined);
});

test('a v4-mapped peer on a tcp6 row is IPv4 on the wire', () => {
  const local = '0000000000000000FFFF00000100007F:1F90';
  const remote = '0000000000000000FFFF00000100007F:9C40';
  const [s] = parseProcNetTcp([HEADER, row(0, local, remote, '01', 5), ''].join('\n'), 'ipv6', HOST_NS);
  assert.equal(s?.family, 'ipv6');
  assert.equal(s?.wireFamily, 'ipv4');
  assert.equal(s?.remoteAddress, '::ffff:7f00:1'); // the WHATWG URL form of ::ffff:127.0.0.1
  assert.equal(s?.netns, HOST_NS);
});

test('a TIME_WAIT socket listed with its FIN_WAIT2 substate is TIME_WAIT, an orphan in FIN_WAIT2 is not', () => {
  // As the kernel lists them (6.18, checked in a namespace): the client closed, the server did
  // not yet. The full socket is gone (its CLOSE was traced); what is left is a timewait socket,
  // timer 3, printed with substate 05.
  const text = [
    HEADER,
    '   2: 0100007F:8EDA 0100007F:D183 05 00000000:00000000 03:00001751 00000000     0        0 0 3 0000000067100473',
    // An orphan in FIN_WAIT2 (tcp_fin_timeout above 60 s) is a full socket: keepalive timer 2.
    '   3: 0100007F:8EDB 0100007F:D183 05 00000000:00000000 02:00001751 00000000     0        0 0 2 0000000067100474 20 4 0 10 -1',
    '',
  ].join('\n');
  assert.deepEqual(parseProcNetTcp(text, 'ipv4', HOST_NS).map((s) => s.state), ['TIME_WAIT', 'FIN_WAIT2']);
});
