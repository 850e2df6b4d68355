/** Turns the addon's packed flow records into FlowDelta objects: one per flow, never per event. */
import os from 'node:os';
import type { RecordLayout } from './native-addon';
import type { FlowDelta, IpFamily, Transport } from './types';

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

const littleEndian = os.endianness() === 'LE';

export function decodeFlowRecords(buffer: Buffer, layout: RecordLayout): FlowDelta[] {
  if (buffer.length % layout.size !== 0) {
    throw new Error(`flow buffer of ${buffer.length} bytes is not a multiple of the ${layout.size}-byte record`);
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const flows: FlowDelta[] = [];
  for (let base = 0; base < buffer.length; base += layout.size) {
    const rawFamily = view.getUint16(base + layout.family, littleEndian);
    const protocol = view.getUint8(base + layout.protocol);
    const transport = transportOf(protocol);
    if (!transport || (rawFamily !== AF_INET && rawFamily !== AF_INET6)) continue;
    const local = buffer.subarray(base + layout.localAddress, base + layout.localAddress + 16);
    const remote = buffer.subarray(base + layout.remoteAddress, base + layout.remoteAddress + 16);
    const commBytes = buffer.subarray(base + layout.comm, base + layout.comm + layout.commLength);
    const nul = commBytes.indexOf(0);
    flows.push({
      tgid: view.getUint32(base + layout.tgid, littleEndian),
      comm: commBytes.toString('utf8', 0, nul === -1 ? commBytes.length : nul),
      cgroupId: view.getBigUint64(base + layout.cgroupId, littleEndian),
      family: wireFamily(rawFamily, local, remote),
      transport,
      localAddress: formatAddress(rawFamily, local),
      localPort: view.getUint16(base + layout.localPort, littleEndian),
      remoteAddress: formatAddress(rawFamily, remote),
      remotePort: view.getUint16(base + layout.remotePort, littleEndian),
      txBytes: Number(view.getBigUint64(base + layout.txBytes, littleEndian)),
      rxBytes: Number(view.getBigUint64(base + layout.rxBytes, littleEndian)),
      txMessages: Number(view.getBigUint64(base + layout.txMessages, littleEndian)),
      rxMessages: Number(view.getBigUint64(base + layout.rxMessages, littleEndian)),
      srttMicros: view.getUint32(base + layout.srttMicros, littleEndian),
    });
  }
  return flows;
}

function transportOf(protocol: number): Transport | undefined {
  if (protocol === IPPROTO_TCP) return 'tcp';
  if (protocol === IPPROTO_UDP) return 'udp';
  return undefined;
}

/** An AF_INET6 socket talking to a v4-mapped peer puts IPv4 on the wire. */
function wireFamily(rawFamily: number, local: Buffer, remote: Buffer): IpFamily {
  if (rawFamily === AF_INET) return 'ipv4';
  return isV4Mapped(remote) || (isUnspecified(remote) && isV4Mapped(local)) ? 'ipv4' : 'ipv6';
}

function isV4Mapped(addr: Buffer): boolean {
  for (let i = 0; i < 10; i++) if (addr[i] !== 0) return false;
  return addr[10] === 0xff && addr[11] === 0xff;
}

function isUnspecified(addr: Buffer): boolean {
  return addr.every((b) => b === 0);
}

export function formatAddress(rawFamily: number, addr: Buffer): string {
  if (rawFamily === AF_INET) return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(addr.readUInt16BE(i).toString(16));
  // The WHATWG URL parser yields the canonical RFC 5952 text form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
