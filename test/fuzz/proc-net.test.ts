/**
 * /proc/net/tcp{,6} rows, written by the kernel of whatever namespace we read: every valid
 * row (the kernel's own format, generated) parses to its tuple; anything else is skipped,
 * never thrown on and never half-read into a NaN port or a made-up address. The corpus
 * holds real rows of this machine's tcp, tcp6, udp and udp6 (same leading columns).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { parseProcNetTcp, type ProcSocket } from '../../src/collector/proc-sockets';
import { TCP_STATES } from '../../src/collector/types';
import { corpusFiles, fuzzParameters } from './fuzz-run';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

interface Row {
  family: 'ipv4' | 'ipv6';
  local: Uint8Array;
  localPort: number;
  remote: Uint8Array;
  remotePort: number;
  state: number;
  inode: number;
}

/** The address as the kernel prints it: each 32-bit word in host (little-endian) order, %08X. */
function kernelHex(bytes: Uint8Array): string {
  let text = '';
  for (let word = 0; word < bytes.length; word += 4) {
    for (let i = 3; i >= 0; i--) text += bytes[word + i]!.toString(16).toUpperCase().padStart(2, '0');
  }
  return text;
}

const port4 = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');

function kernelLine(sl: number, r: Row): string {
  return `${String(sl).padStart(4)}: ${kernelHex(r.local)}:${port4(r.localPort)} ${kernelHex(r.remote)}:${port4(r.remotePort)} ` +
    `${r.state.toString(16).toUpperCase().padStart(2, '0')} 00000000:00000000 00:00000000 00000000  1000        0 ${r.inode} 1 0000000000000000 20 4 30 10 -1`;
}

/** The 16 (or 4) bytes an address text stands for; independent of the parser's formatting. */
function addressBytes(text: string): number[] {
  if (isIP(text) === 4) return text.split('.').map(Number);
  assert.equal(isIP(text), 6, `not an address: ${text}`);
  // A dotted IPv4 tail ("::ffff:1.2.3.4") as its two 16-bit groups.
  const hex = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a: string, b: string, c: string, d: string) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const groups = (part: string) => part.split(':').filter((g) => g !== '').map((g) => parseInt(g, 16));
  const [before, after] = hex.split('::') as [string, string | undefined];
  const left = groups(before);
  const right = after === undefined ? [] : groups(after);
  const words = after === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

const rowArb = fc.oneof(
  fc.constant<'ipv4'>('ipv4'),
  fc.constant<'ipv6'>('ipv6'),
).chain((family) => {
  const n = family === 'ipv4' ? 4 : 16;
  const address = fc.oneof(
    fc.uint8Array({ minLength: n, maxLength: n }),
    // The addresses that have text forms of their own: unspecified, loopback, v4-mapped.
    fc.constantFrom(new Uint8Array(n), Uint8Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : family === 'ipv4' && i === 0 ? 127 : 0))),
    fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => (n === 4 ? v4 : Uint8Array.from([...Array(10).fill(0), 0xff, 0xff, ...v4]))),
  );
  return fc.record({
    family: fc.constant(family),
    local: address,
    localPort: fc.integer({ min: 0, max: 65535 }),
    remote: address,
    remotePort: fc.integer({ min: 0, max: 65535 }),
    state: fc.integer({ min: 1, max: 13 }),
    inode: fc.nat({ max: 2 ** 32 - 1 }),
  });
});

/** What every parsed socket must be, whatever the input. */
function assertSane(s: ProcSocket, family: 'ipv4' | 'ipv6'): void {
  assert.equal(s.family, family);
  for (const port of [s.localPort, s.remotePort]) assert.ok(Number.isInteger(port) && port >= 0 && port <= 0xffff, `port ${port}`);
  assert.ok(isIP(s.localAddress) !== 0 && isIP(s.remoteAddress) !== 0, `${s.localAddress} ${s.remoteAddress}`);
  assert.ok(Number.isSafeInteger(s.inode) && s.inode >= 0, `inode ${s.inode}`);
  assert.ok(TCP_STATES.includes(s.state));
}

/** real-*: rows of this machine, every one read; malformed-*: rows fuzzing found read wrongly before, none read. */
test('the corpus: real rows of this machine all parse; malformed ones (earlier finds) are all skipped', () => {
  for (const { name, text } of corpusFiles('proc-net')) {
    const family = name.includes('6') ? 'ipv6' : 'ipv4';
    const rows = text.split('\n').slice(1).filter((l) => l.trim() !== '').length;
    const sockets = parseProcNetTcp(text, family, 1);
    if (name.startsWith('real-')) assert.equal(sockets.length, rows, name);
    if (name.startsWith('malformed-')) assert.deepEqual(sockets, [], name);
    for (const s of sockets) assertSane(s, family);
  }
});

test('kernel-format rows parse to their tuple, state and inode', (t) => {
  fc.assert(
    fc.property(fc.array(rowArb, { minLength: 1, maxLength: 8 }), (rows) => {
      for (const family of ['ipv4', 'ipv6'] as const) {
        const mine = rows.filter((r) => r.family === family);
        const text = [HEADER, ...mine.map((r, sl) => kernelLine(sl, r)), ''].join('\n');
        const sockets = parseProcNetTcp(text, family, 4026531840);
        assert.equal(sockets.length, mine.length);
        sockets.forEach((s, i) => {
          const r = mine[i]!;
          assertSane(s, family);
          assert.deepEqual(addressBytes(s.localAddress), [...r.local]);
          assert.deepEqual(addressBytes(s.remoteAddress), [...r.remote]);
          assert.deepEqual([s.localPort, s.remotePort, s.state, s.inode, s.netns], [r.localPort, r.remotePort, TCP_STATES[r.state], r.inode, 4026531840]);
        });
      }
    }),
    fuzzParameters(t, 300),
  );
});

/** One character of a valid row changed, cut or doubled: skipped, or still a sane socket. */
test('rows with a character changed, cut or repeated never throw and never give a NaN port or a bad address', (t) => {
  const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('replace', 'delete', 'insert', 'truncate'), char: fc.constantFrom(...'0123456789ABCDEFabcdefgxzG: -.\t+') });
  fc.assert(
    fc.property(rowArb, fc.array(edit, { minLength: 1, maxLength: 4 }), (row, edits) => {
      let line = kernelLine(0, row);
      for (const e of edits) {
        const at = e.at % (line.length + 1);
        if (e.kind === 'replace') line = line.slice(0, at) + e.char + line.slice(at + 1);
        else if (e.kind === 'delete') line = line.slice(0, at) + line.slice(at + 1);
        else if (e.kind === 'insert') line = line.slice(0, at) + e.char + line.slice(at);
        else line = line.slice(0, at);
      }
      for (const s of parseProcNetTcp(`${HEADER}\n${line}\n`, row.family, 1)) {
        assertSane(s, row.family);
        // Read only if the columns it reads are as the kernel writes them: no lenient parseInt.
        const [, local, remote, state, , , , , , inode] = line.trim().split(/\s+/);
        const hex = row.family === 'ipv4' ? 8 : 32;
        for (const endpoint of [local, remote]) assert.match(endpoint!, new RegExp(`^[0-9A-Fa-f]{${hex}}:[0-9A-Fa-f]{4}$`), line);
        assert.match(state!, /^[0-9A-Fa-f]{2}$/, line);
        assert.match(inode!, /^\d+$/, line);
      }
    }),
    fuzzParameters(t, 500),
  );
});

test('any text at all never throws', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), fc.constantFrom<'ipv4' | 'ipv6'>('ipv4', 'ipv6'), (text, family) => {
      for (const s of parseProcNetTcp(text, family, 1)) assertSane(s, family);
    }),
    fuzzParameters(t, 300),
  );
});
