/** Names a remote address by the configured CIDR group it falls in (net.BlockList does the matching). */
import net from 'node:net';
import { blockListOf, unmapIPv4 } from '../config/cidr';
import { DEFAULT_PEER_GROUPS } from '../config/defaults';

export type PeerGroupConfig = Readonly<Record<string, readonly string[]>>;

export const EXTERNAL_GROUP = 'external';

export class PeerGroups {
  private readonly groups: Array<{ name: string; list: net.BlockList }> = [];
  private readonly cache = new Map<string, string>();

  constructor(config: PeerGroupConfig = DEFAULT_PEER_GROUPS) {
    for (const [name, cidrs] of Object.entries(config)) {
      try {
        this.groups.push({ name, list: blockListOf(cidrs) });
      } catch (err) {
        throw new Error(`peer group ${name}: ${(err as Error).message}`);
      }
    }
  }

  /** The first group (in configuration order) containing the address, else "external". */
  groupOf(address: string): string {
    let group = this.cache.get(address);
    if (group === undefined) {
      const plain = unmapIPv4(address);
      const family = net.isIPv4(plain) ? 'ipv4' : 'ipv6';
      group = this.groups.find((g) => g.list.check(plain, family))?.name ?? EXTERNAL_GROUP;
      if (this.cache.size > 100_000) this.cache.clear();
      this.cache.set(address, group);
    }
    return group;
  }
}
