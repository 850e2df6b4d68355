/** CIDR text ("10.0.0.0/8", "fc00::/7"): checked by config, matched by the metrics layer's peer groups. */
import net from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** The parts of a CIDR, or undefined when the text is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const [address, prefixText] = text.split('/');
  if (!address || prefixText === undefined || !/^\d+$/.test(prefixText)) return undefined;
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  const prefix = Number(prefixText);
  if (!family || prefix > (family === 'ipv4' ? 32 : 128)) return undefined;
  return { address, prefix, family };
}

/**
 * "::ffff:10.0.0.1" and "::ffff:a00:1" (how the URL parser, which formats the kernel's
 * addresses, writes it) -> "10.0.0.1": a v4 peer of a dual-stack socket is named as a v4 peer.
 */
export function unmapIPv4(address: string): string {
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!mapped) return address;
  if (mapped[1]) return mapped[1];
  const high = parseInt(mapped[2]!, 16);
  const low = parseInt(mapped[3]!, 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** A BlockList of the CIDRs; undefined entries were checked before (parseCidr). */
export function blockListOf(cidrs: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (!parsed) throw new Error(`${JSON.stringify(cidr)} is not a CIDR like 10.0.0.0/8 or fc00::/7`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}

/**
 * What is wrong with a list of cluster networks, naming the entry, or undefined. Overlaps are
 * refused: two CIDRs either nest or are disjoint, so the shorter one containing the longer one's
 * address is the test.
 */
export function cidrListProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'must be a JSON list of CIDRs, e.g. ["10.244.0.0/16", "10.96.0.0/12", "fd00:10::/56"]';
  const parsed: Array<{ text: string; cidr: Cidr }> = [];
  for (const entry of value) {
    if (typeof entry !== 'string') return `entry ${JSON.stringify(entry)} is not a string`;
    if (entry.trim() === '') return 'has an empty entry ""';
    const cidr = parseCidr(entry);
    if (!cidr) return `entry ${JSON.stringify(entry)} is not a CIDR like 10.96.0.0/12 or fd00:10::/108`;
    for (const other of parsed) {
      if (other.cidr.family !== cidr.family) continue;
      const [wide, narrow] = other.cidr.prefix <= cidr.prefix ? [other.cidr, cidr] : [cidr, other.cidr];
      if (blockListOf([`${wide.address}/${wide.prefix}`]).check(narrow.address, narrow.family)) {
        return `entry ${JSON.stringify(entry)} overlaps ${JSON.stringify(other.text)}`;
      }
    }
    parsed.push({ text: entry, cidr });
  }
  return undefined;
}
