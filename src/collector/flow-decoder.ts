/**
 * Turns the addon's packed flow records into FlowDelta objects: one per flow, never per
 * event. The same flows come back every interval, so their address strings are reused
 * rather than formatted again (see AddressNames), and fields are read in place: the
 * only allocations per record are the FlowDelta and its two name strings.
 */
import os from 'node:os';
import type { RecordLayout } from './native-addon';
import type { FlowDelta, IpFamily, Transport } from './types';

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

const littleEndian = os.endianness() === 'LE';

export function decodeFlowRecords(buffer: Buffer, layout: RecordLayout): FlowDelta[] {
  const flows: FlowDelta[] = [];
  forEachFlowRecord(buffer, layout, (f) => flows.push(f));
  return flows;
}

/** Decodes the records one at a time, each into a new FlowDelta handed to `visit`. */
export function forEachFlowRecord(buffer: Buffer, layout: RecordLayout, visit: (flow: FlowDelta) => void): void {
  if (buffer.length % layout.size !== 0) {
    throw new Error(`flow buffer of ${buffer.length} bytes is not a multiple of the ${layout.size}-byte record`);
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  for (let base = 0; base < buffer.length; base += layout.size) {
    const rawFamily = view.getUint16(base + layout.family, littleEndian);
    const protocol = view.getUint8(base + layout.protocol);
    const transport = transportOf(protocol);
    if (!transport || (rawFamily !== AF_INET && rawFamily !== AF_INET6)) continue;
    const local = base + layout.localAddress;
    const remote = base + layout.remoteAddress;
    visit({
      tgid: view.getUint32(base + layout.tgid, littleEndian),
      comm: readCString(buffer, base + layout.comm, layout.commLength),
      threadName: readCString(buffer, base + layout.threadComm, layout.commLength),
      netns: view.getUint32(base + layout.netns, littleEndian),
      cgroupId: readCgroupId(view, base + layout.cgroupId),
      family: wireFamily(rawFamily, buffer, local, remote),
      transport,
      localAddress: addressAt(rawFamily, buffer, local),
      localPort: view.getUint16(base + layout.localPort, littleEndian),
      remoteAddress: addressAt(rawFamily, buffer, remote),
      remotePort: view.getUint16(base + layout.remotePort, littleEndian),
      txBytes: readUint64(view, base + layout.txBytes),
      rxBytes: readUint64(view, base + layout.rxBytes),
      txMessages: readUint64(view, base + layout.txMessages),
      rxMessages: readUint64(view, base + layout.rxMessages),
      srttMicros: view.getUint32(base + layout.srttMicros, littleEndian),
    });
  }
}

/** A u64 counter as a number without a BigInt in between (exact below 2^53). */
export function readUint64(view: DataView, offset: number): number {
  const lo = view.getUint32(offset + (littleEndian ? 0 : 4), littleEndian);
  const hi = view.getUint32(offset + (littleEndian ? 4 : 0), littleEndian);
  return hi * 0x1_0000_0000 + lo;
}

/** Most flows are in the root cgroup or a few containers: 0n needs no BigInt each time. */
export function readCgroupId(view: DataView, offset: number): bigint {
  return view.getUint32(offset, littleEndian) === 0 && view.getUint32(offset + 4, littleEndian) === 0
    ? 0n
    : view.getBigUint64(offset, littleEndian);
}

/** A NUL-terminated string of at most `length` bytes (the kernel's comm). */
export function readCString(buffer: Buffer, start: number, length: number): string {
  let end = start;
  while (end < start + length && buffer[end] !== 0) end++;
  return buffer.toString('utf8', start, end);
}

function transportOf(protocol: number): Transport | undefined {
  if (protocol === IPPROTO_TCP) return 'tcp';
  if (protocol === IPPROTO_UDP) return 'udp';
  return undefined;
}

/** An AF_INET6 socket talking to a v4-mapped peer puts IPv4 on the wire. */
export function wireFamily(rawFamily: number, buffer: Buffer, local: number, remote: number): IpFamily {
  if (rawFamily === AF_INET) return 'ipv4';
  return isV4Mapped(buffer, remote) || (isUnspecified(buffer, remote) && isV4Mapped(buffer, local)) ? 'ipv4' : 'ipv6';
}

function isV4Mapped(buffer: Buffer, at: number): boolean {
  for (let i = 0; i < 10; i++) if (buffer[at + i] !== 0) return false;
  return buffer[at + 10] === 0xff && buffer[at + 11] === 0xff;
}

function isUnspecified(buffer: Buffer, at: number): boolean {
  for (let i = 0; i < 16; i++) if (buffer[at + i] !== 0) return false;
  return true;
}

/**
 * Address text by address bytes, for addresses seen recently. Formatting an IPv6
 * address goes through the URL parser; an IPv4 one still allocates its string. Bounded:
 * when full it starts over.
 */
class AddressNames {
  private readonly v4 = new Map<number, string>();
  private readonly v6 = new Map<string, string>();

  constructor(private readonly maxEntries: number) {}

  at(rawFamily: number, buffer: Buffer, at: number): string {
    if (rawFamily === AF_INET) {
      const key = buffer.readUInt32BE(at);
      let name = this.v4.get(key);
      if (name === undefined) {
        name = formatAddress(AF_INET, buffer.subarray(at, at + 4));
        if (this.v4.size >= this.maxEntries) this.v4.clear();
        this.v4.set(key, name);
      }
      return name;
    }
    const key = buffer.toString('latin1', at, at + 16);
    let name = this.v6.get(key);
    if (name === undefined) {
      name = formatAddress(AF_INET6, buffer.subarray(at, at + 16));
      if (this.v6.size >= this.maxEntries) this.v6.clear();
      this.v6.set(key, name);
    }
    return name;
  }
}

const addressNames = new AddressNames(65_536);

/** The text of 16 address bytes at `at` (4 used for IPv4), reusing recent results. */
export function addressAt(rawFamily: number, buffer: Buffer, at: number): string {
  return addressNames.at(rawFamily, buffer, at);
}

export function formatAddress(rawFamily: number, addr: Buffer): string {
  // join() makes one flat string; a template literal would keep a tree of pieces in the cache.
  if (rawFamily === AF_INET) return [addr[0], addr[1], addr[2], addr[3]].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(addr.readUInt16BE(i).toString(16));
  // The WHATWG URL parser yields the canonical RFC 5952 text form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
