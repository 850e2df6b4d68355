/** Turns the addon's packed connection events into ConnectionEvent objects. */
import os from 'node:os';
import { formatAddress } from './flow-decoder';
import type { ConnEventLayout } from './native-addon';
import { TCP_STATES, type ConnectionEvent, type TcpState } from './types';

const AF_INET = 2;
const SS_EVENT_STATE = 2;
const SS_EVENT_RETRANSMIT = 3;
const SS_CONN_OWNER_KNOWN = 0x1;
const SS_CONN_ACTIVE = 0x2;
const SS_CONN_PASSIVE = 0x4;

const littleEndian = os.endianness() === 'LE';

export function decodeConnEvents(buffer: Buffer, layout: ConnEventLayout): ConnectionEvent[] {
  if (buffer.length % layout.size !== 0) {
    throw new Error(`event buffer of ${buffer.length} bytes is not a multiple of the ${layout.size}-byte record`);
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const events: ConnectionEvent[] = [];
  for (let base = 0; base < buffer.length; base += layout.size) {
    const type = view.getUint8(base + layout.type);
    if (type !== SS_EVENT_STATE && type !== SS_EVENT_RETRANSMIT) continue;
    const flags = view.getUint8(base + layout.flags);
    const rawFamily = view.getUint16(base + layout.family, littleEndian);
    const local = buffer.subarray(base + layout.localAddress, base + layout.localAddress + 16);
    const remote = buffer.subarray(base + layout.remoteAddress, base + layout.remoteAddress + 16);
    const event: ConnectionEvent = {
      kind: type === SS_EVENT_STATE ? 'state' : 'retransmit',
      timestampNs: view.getBigUint64(base + layout.timestampNs, littleEndian),
      oldState: stateName(view.getUint8(base + layout.oldState)),
      newState: stateName(view.getUint8(base + layout.newState)),
      family: rawFamily === AF_INET ? 'ipv4' : 'ipv6',
      localAddress: formatAddress(rawFamily, local),
      localPort: view.getUint16(base + layout.localPort, littleEndian),
      remoteAddress: formatAddress(rawFamily, remote),
      remotePort: view.getUint16(base + layout.remotePort, littleEndian),
      durationNs: Number(view.getBigUint64(base + layout.durationNs, littleEndian)),
      error: view.getInt32(base + layout.error, littleEndian),
      srttMicros: view.getUint32(base + layout.srttMicros, littleEndian),
    };
    if (flags & SS_CONN_ACTIVE) event.direction = 'active';
    else if (flags & SS_CONN_PASSIVE) event.direction = 'passive';
    if (flags & SS_CONN_OWNER_KNOWN) {
      const comm = buffer.subarray(base + layout.comm, base + layout.comm + layout.commLength);
      const nul = comm.indexOf(0);
      event.owner = {
        tgid: view.getUint32(base + layout.tgid, littleEndian),
        pid: view.getUint32(base + layout.pid, littleEndian),
        comm: comm.toString('utf8', 0, nul === -1 ? comm.length : nul),
        cgroupId: view.getBigUint64(base + layout.cgroupId, littleEndian),
      };
    }
    events.push(event);
  }
  return events;
}

function stateName(state: number): TcpState {
  return TCP_STATES[state] ?? 'UNKNOWN';
}
