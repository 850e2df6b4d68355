/** Names a remote address by the configured CIDR group it falls in (net.BlockList does the matching). */
import net from 'node:net';
import { parseCidr } from '../config/cidr';
import { DEFAULT_PEER_GROUPS } from '../config/defaults';

export type PeerGroupConfig = Readonly<Record<string, readonly string[]>>;

export const EXTERNAL_GROUP = 'external';

export class PeerGroups {
  private readonly groups: Array<{ name: string; list: net.BlockList }> = [];
  private readonly cache = new Map<string, string>();

  constructor(config: PeerGroupConfig = DEFAULT_PEER_GROUPS) {
    for (const [name, cidrs] of Object.entries(config)) {
      const list = new net.BlockList();
      for (const cidr of cidrs) {
        const parsed = parseCidr(cidr);
        if (!parsed) throw new Error(`peer group ${name}: ${JSON.stringify(cidr)} is not a CIDR like 10.0.0.0/8 or fc00::/7`);
        list.addSubnet(parsed.address, parsed.prefix, parsed.family);
      }
      this.groups.push({ name, list });
    }
  }

  /** The first group (in configuration order) containing the address, else "external". */
  groupOf(address: string): string {
    let group = this.cache.get(address);
    if (group === undefined) {
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
      const plain = mapped ? mapped[1]! : address;
      const family = net.isIPv4(plain) ? 'ipv4' : 'ipv6';
      group = this.groups.find((g) => g.list.check(plain, family))?.name ?? EXTERNAL_GROUP;
      if (this.cache.size > 100_000) this.cache.clear();
      this.cache.set(address, group);
    }
    return group;
  }
}
