/**
 * metrics.clusterNetworks: the pod and service CIDRs whose peers are exported by address.
 * Addresses there name a pod, a Service or a node that Prometheus can join with
 * kube-state-metrics; addresses elsewhere would only add series, so they keep the peer group.
 */
import net from 'node:net';
import { blockListOf } from '../config/cidr';

export class ClusterNetworks {
  readonly enabled: boolean;
  private readonly list: net.BlockList;
  private readonly cache = new Map<string, boolean>();

  constructor(cidrs: readonly string[] = []) {
    this.enabled = cidrs.length > 0;
    this.list = blockListOf(cidrs);
  }

  /** Whether a peer address (IPv4-mapped already unmapped) lies in a cluster network. */
  contains(address: string): boolean {
    let inside = this.cache.get(address);
    if (inside === undefined) {
      inside = this.enabled && this.list.check(address, net.isIPv4(address) ? 'ipv4' : 'ipv6');
      // Bounded like the series: a scan of many peers must not grow the cache without end.
      if (this.cache.size > 100_000) this.cache.clear();
      this.cache.set(address, inside);
    }
    return inside;
  }
}
