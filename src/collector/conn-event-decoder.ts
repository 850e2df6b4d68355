/** Turns the addon's packed connection events into ConnectionEvent objects. */
import os from 'node:os';
import { addressAt, readCgroupId, readCString, readUint64, wireFamily } from './flow-decoder';
import type { ConnEventLayout } from './native-addon';
import { TCP_STATES, type ConnectionEvent, type SocketOwner, type TcpState } from './types';

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
    const event: ConnectionEvent = {
      kind: type === SS_EVENT_STATE ? 'state' : 'retransmit',
      timestampNs: view.getBigUint64(base + layout.timestampNs, littleEndian),
      oldState: stateName(view.getUint8(base + layout.oldState)),
      newState: stateName(view.getUint8(base + layout.newState)),
      family: rawFamily === AF_INET ? 'ipv4' : 'ipv6',
      localAddress: addressAt(rawFamily, buffer, base + layout.localAddress),
      localPort: view.getUint16(base + layout.localPort, littleEndian),
      remoteAddress: addressAt(rawFamily, buffer, base + layout.remoteAddress),
      remotePort: view.getUint16(base + layout.remotePort, littleEndian),
      durationNs: readUint64(view, base + layout.durationNs),
      error: view.getInt32(base + layout.error, littleEndian),
      srttMicros: view.getUint32(base + layout.srttMicros, littleEndian),
      netns: view.getUint32(base + layout.netns, littleEndian),
      wireFamily: wireFamily(rawFamily, buffer, base + layout.localAddress, base + layout.remoteAddress),
    };
    if (flags & SS_CONN_ACTIVE) event.direction = 'active';
    else if (flags & SS_CONN_PASSIVE) event.direction = 'passive';
    if (flags & SS_CONN_OWNER_KNOWN) {
      event.owner = owners.of(
        view.getUint32(base + layout.tgid, littleEndian),
        view.getUint32(base + layout.pid, littleEndian),
        readCString(buffer, base + layout.comm, layout.commLength),
        readCString(buffer, base + layout.threadComm, layout.commLength),
        readCgroupId(view, base + layout.cgroupId),
      );
    }
    events.push(event);
  }
  return events;
}

/**
 * Recent owners by thread id. A process opening thousands of connections is one owner,
 * and the tracker keeps an owner per connection: sharing the object makes that one.
 * Owners are never mutated. Bounded: when full it starts over.
 */
class RecentOwners {
  private readonly byPid = new Map<number, SocketOwner>();

  constructor(private readonly maxEntries: number) {}

  of(tgid: number, pid: number, comm: string, threadName: string, cgroupId: bigint): SocketOwner {
    const known = this.byPid.get(pid);
    if (
      known && known.tgid === tgid && known.comm === comm && known.threadName === threadName &&
      known.cgroupId === cgroupId
    ) {
      return known;
    }
    const owner: SocketOwner = { tgid, pid, comm, threadName, cgroupId };
    if (this.byPid.size >= this.maxEntries) this.byPid.clear();
    this.byPid.set(pid, owner);
    return owner;
  }
}

const owners = new RecentOwners(16_384);

function stateName(state: number): TcpState {
  return TCP_STATES[state] ?? 'UNKNOWN';
}
