/**
 * Builds every candidate attribute of a data point from what the kernel reported;
 * the AttributePolicy then keeps what each metric exports.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ConntrackBackends, PeerTuple } from '../collector/conntrack-backends';
import type { FlowDelta, IpFamily, SocketOwner, Transport } from '../collector/types';
import {
  ATTR_EXECUTABLE,
  ATTR_NETWORK_TYPE,
  ATTR_PEER_ADDRESS,
  ATTR_PEER_BACKEND,
  ATTR_PEER_GROUP,
  ATTR_PEER_PORT,
  ATTR_PID,
  ATTR_SERVER_PORT,
  ATTR_THREAD,
  ATTR_TRANSPORT,
} from './definitions';
import { unmapIPv4 } from '../config/cidr';
import { ClusterNetworks } from './cluster-networks';
import type { PeerGroups } from './peer-groups';
import type { ServerPorts } from './server-ports';

/** cgroup id -> container / pod / service attributes (src/attribution/cgroup-resolver.ts). */
export interface WorkloadResolver {
  resolve(cgroupId: bigint, pid?: number): Attributes;
}

export interface Endpoints {
  family: IpFamily;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::']);

export class Attributor {
  constructor(
    readonly ports: ServerPorts,
    private readonly peers: PeerGroups,
    private readonly workload?: WorkloadResolver,
    private readonly cluster: ClusterNetworks = new ClusterNetworks(),
    /** Conntrack answers, when the backend behind cluster peers is looked up. */
    private readonly backends?: ConntrackBackends,
  ) {}

  /**
   * The conntrack tuple whose backend a data point carries: only a cluster peer that is the
   * server side can be a Service DNATed to a backend (a client peer's address is its own).
   */
  peerTuple(e: Endpoints, transport: Transport, serverPort: number | undefined): PeerTuple | undefined {
    if (!this.backends || serverPort === undefined || serverPort !== e.remotePort || UNSPECIFIED.has(e.remoteAddress)) return undefined;
    // A socket not bound yet (port 0) has no conntrack entry to find.
    if (e.localPort === 0) return undefined;
    const peer = unmapIPv4(e.remoteAddress);
    if (!this.cluster.contains(peer)) return undefined;
    return { transport, localAddress: unmapIPv4(e.localAddress), localPort: e.localPort, remoteAddress: peer, remotePort: e.remotePort };
  }

  /** A closed client connection's conntrack answer is not needed any more. */
  forgetBackend(e: Endpoints): void {
    const tuple = this.peerTuple(e, 'tcp', e.remotePort);
    if (tuple) this.backends!.forget(tuple);
  }

  /** The tuple of a flow, as flow() decides its server port. */
  flowTuple(f: FlowDelta): PeerTuple | undefined {
    return this.backends ? this.peerTuple(f, f.transport, this.ports.serverPort(f.localPort, f.remotePort)) : undefined;
  }

  /** Candidates of a flow (without direction). */
  flow(f: FlowDelta): Attributes {
    const attributes = this.endpoints(f, this.ports.serverPort(f.localPort, f.remotePort), f.transport);
    attributes[ATTR_TRANSPORT] = f.transport;
    attributes[ATTR_NETWORK_TYPE] = f.family;
    attributes[ATTR_EXECUTABLE] = f.comm;
    attributes[ATTR_THREAD] = f.threadName;
    attributes[ATTR_PID] = f.tgid;
    return this.withWorkload(attributes, f.cgroupId, f.tgid);
  }

  /** Candidates of a TCP connection; the server port is decided by the caller (it knows the direction). */
  connection(owner: SocketOwner | undefined, e: Endpoints, family: IpFamily, serverPort: number | undefined): Attributes {
    const attributes = this.endpoints(e, serverPort, 'tcp');
    attributes[ATTR_NETWORK_TYPE] = family;
    if (!owner) return attributes;
    attributes[ATTR_EXECUTABLE] = owner.comm;
    attributes[ATTR_THREAD] = owner.threadName;
    attributes[ATTR_PID] = owner.tgid;
    return this.withWorkload(attributes, owner.cgroupId, owner.tgid);
  }

  private endpoints(e: Endpoints, serverPort: number | undefined, transport: Transport): Attributes {
    const attributes: Attributes = {
      'network.local.address': e.localAddress,
      'network.local.port': e.localPort,
    };
    // An unconnected (UDP) socket has no peer: say nothing rather than "external".
    if (!UNSPECIFIED.has(e.remoteAddress)) {
      const peer = unmapIPv4(e.remoteAddress);
      attributes[ATTR_PEER_GROUP] = this.peers.groupOf(peer);
      if (!this.cluster.enabled) {
        attributes[ATTR_PEER_ADDRESS] = peer;
        attributes[ATTR_PEER_PORT] = e.remotePort;
      } else if (this.cluster.contains(peer)) {
        // With cluster networks the address is bounded by them, and the port by the peer's
        // listening ports: a client peer's ephemeral port would make a series per connection.
        attributes[ATTR_PEER_ADDRESS] = peer;
        if (serverPort === e.remotePort) attributes[ATTR_PEER_PORT] = e.remotePort;
        const tuple = this.peerTuple(e, transport, serverPort);
        if (tuple) attributes[ATTR_PEER_BACKEND] = this.backends!.backendOf(tuple);
      }
    }
    if (serverPort !== undefined) attributes[ATTR_SERVER_PORT] = serverPort;
    return attributes;
  }

  private withWorkload(attributes: Attributes, cgroupId: bigint, pid: number): Attributes {
    if (this.workload && cgroupId !== 0n) Object.assign(attributes, this.workload.resolve(cgroupId, pid));
    return attributes;
  }
}
