/**
 * Which end of a connection is the server: the label `server.port` must be a listening
 * port, never an ephemeral one (that would be a new series per connection).
 */
import { readFileSync } from 'node:fs';

export interface PortRange {
  low: number;
  high: number;
}

/** The kernel's ephemeral port range (net.ipv4.ip_local_port_range, which IPv6 shares). */
export function ephemeralPortRange(procRoot = '/proc'): PortRange {
  try {
    const [low, high] = readFileSync(`${procRoot}/sys/net/ipv4/ip_local_port_range`, 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return { low: low!, high: high! };
  } catch {
    /* not Linux, or /proc not mounted: fall through */
  }
  return { low: 32768, high: 60999 }; // the kernel's default
}

export class ServerPorts {
  private readonly listening = new Set<number>();

  constructor(private readonly ephemeral: PortRange = ephemeralPortRange()) {}

  addListener(port: number): void {
    this.listening.add(port);
  }

  isListening(port: number): boolean {
    return this.listening.has(port);
  }

  isEphemeral(port: number): boolean {
    return port >= this.ephemeral.low && port <= this.ephemeral.high;
  }

  /** The server port of a flow or connection, or undefined when neither end is one. */
  serverPort(localPort: number, remotePort: number): number | undefined {
    if (localPort !== 0 && this.listening.has(localPort)) return localPort;
    if (remotePort !== 0 && !this.isEphemeral(remotePort)) return remotePort;
    if (localPort !== 0 && !this.isEphemeral(localPort)) return localPort;
    return undefined;
  }
}
