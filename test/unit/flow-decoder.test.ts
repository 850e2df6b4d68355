import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFlowRecords, formatAddress } from '../../src/collector/flow-decoder';
import { loadNativeAddon } from '../../src/collector/native-addon';

// The layout comes from the addon's C structs: this test checks the decoder against them.
const layout = loadNativeAddon().recordLayout;

interface RecordSpec {
  tgid: number;
  family: number;
  protocol: number;
  comm: string;
  local: number[];
  remote: number[];
  lport: number;
  rport: number;
  tx: bigint;
  rx: bigint;
}

function record(spec: RecordSpec): Buffer {
  const b = Buffer.alloc(layout.size);
  b.writeUInt32LE(spec.tgid, layout.tgid);
  b.writeUInt16LE(spec.family, layout.family);
  b.writeUInt8(spec.protocol, layout.protocol);
  b.writeBigUInt64LE(42n, layout.cgroupId);
  Buffer.from(spec.local).copy(b, layout.localAddress);
  Buffer.from(spec.remote).copy(b, layout.remoteAddress);
  b.writeUInt16LE(spec.lport, layout.localPort);
  b.writeUInt16LE(spec.rport, layout.remotePort);
  b.write(spec.comm, layout.comm, 'utf8');
  b.write(`thr-${spec.comm}`.slice(0, 15), layout.threadComm, 'utf8');
  b.writeUInt32LE(4026531840, layout.netns);
  b.writeBigUInt64LE(spec.tx, layout.txBytes);
  b.writeBigUInt64LE(spec.rx, layout.rxBytes);
  b.writeBigUInt64LE(3n, layout.txMessages);
  b.writeBigUInt64LE(4n, layout.rxMessages);
  b.writeUInt32LE(spec.protocol === 6 ? 777 : 0, layout.srttMicros);
  return b;
}

const v6 = (...tail: number[]) => [...Array(16 - tail.length).fill(0), ...tail];
const mapped = (a: number, b: number, c: number, d: number) => [...Array(10).fill(0), 0xff, 0xff, a, b, c, d];

test('decodes IPv4 TCP and IPv6 UDP records field by field', () => {
  const buf = Buffer.concat([
    record({ tgid: 1234, family: 2, protocol: 6, comm: 'curl', local: [127, 0, 0, 1], remote: [10, 1, 2, 3], lport: 40000, rport: 443, tx: 100n, rx: 2n ** 40n }),
    record({ tgid: 7, family: 10, protocol: 17, comm: 'fifteen-chars-x', local: v6(1), remote: [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 5], lport: 53, rport: 5353, tx: 0n, rx: 9n }),
  ]);
  const [a, b] = decodeFlowRecords(buf, layout);
  assert.deepEqual(a, {
    tgid: 1234, comm: 'curl', threadName: 'thr-curl', netns: 4026531840, cgroupId: 42n, family: 'ipv4', transport: 'tcp',
    localAddress: '127.0.0.1', localPort: 40000, remoteAddress: '10.1.2.3', remotePort: 443,
    txBytes: 100, rxBytes: 2 ** 40, txMessages: 3, rxMessages: 4, srttMicros: 777,
  });
  assert.equal(b?.family, 'ipv6');
  assert.equal(b?.transport, 'udp');
  assert.equal(b?.comm, 'fifteen-chars-x');
  assert.equal(b?.threadName, 'thr-fifteen-cha');
  assert.equal(b?.localAddress, '::1');
  assert.equal(b?.remoteAddress, '2001:db8::5');
});

test('an IPv6 socket with a v4-mapped peer is IPv4 on the wire', () => {
  const buf = record({ tgid: 1, family: 10, protocol: 6, comm: 'x', local: mapped(127, 0, 0, 1), remote: mapped(127, 0, 0, 1), lport: 1, rport: 2, tx: 1n, rx: 1n });
  assert.equal(decodeFlowRecords(buf, layout)[0]?.family, 'ipv4');
});

test('records of other families or protocols are skipped, not misreported', () => {
  const buf = Buffer.concat([
    record({ tgid: 1, family: 1, protocol: 6, comm: 'unix', local: [], remote: [], lport: 0, rport: 0, tx: 1n, rx: 0n }),
    record({ tgid: 1, family: 2, protocol: 132, comm: 'sctp', local: [], remote: [], lport: 0, rport: 0, tx: 1n, rx: 0n }),
  ]);
  assert.deepEqual(decodeFlowRecords(buf, layout), []);
});

test('a buffer that is not a whole number of records is an error', () => {
  assert.throws(() => decodeFlowRecords(Buffer.alloc(layout.size + 1), layout), /not a multiple/);
});

test('IPv6 addresses are printed in RFC 5952 form', () => {
  assert.equal(formatAddress(10, Buffer.from(v6())), '::');
  assert.equal(formatAddress(10, Buffer.from([0xfe, 0x80, ...Array(6).fill(0), 0, 0, 0, 0, 0, 0, 0, 1])), 'fe80::1');
  assert.equal(formatAddress(2, Buffer.from([192, 168, 0, 1])), '192.168.0.1');
});
