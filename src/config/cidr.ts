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
