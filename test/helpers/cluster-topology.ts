/**
 * A small Kubernetes-like node made of network namespaces: a client pod and two backend
 * pods, each joined by a veth to a "node" namespace that routes between them and DNATs a
 * Service ClusterIP to the backends with nft, in the shape of kube-proxy's nftables mode
 * (a service-ips verdict map, one chain per service and per endpoint). IPv4 and IPv6.
 *
 * The node is a namespace of its own rather than the host's root namespace, so that the
 * forwarding sysctls, routes and nft tables of the test never touch the machine's own
 * networking or another test's. For sockscope it is the same: its probes see every namespace.
 */
import { execFileSync } from 'node:child_process';

export const SERVICE_PORT = 80;
export const BACKEND_PORT = 8080;
export const EXTERNAL_PORT = 9000;
export const CLUSTER_NETWORKS = ['10.244.0.0/16', '10.96.0.0/12', 'fd00:10:244::/56', 'fd00:10:96::/112'];
export const CLUSTER_IP = { ipv4: '10.96.0.10', ipv6: 'fd00:10:96::10' } as const;
/** Outside the cluster networks (TEST-NET-1 and the documentation prefix): a "node-local" external service. */
export const EXTERNAL_IP = { ipv4: '192.0.2.1', ipv6: '2001:db8::1' } as const;

export interface PodNetns {
  netns: string;
  ipv4: string;
  ipv6: string;
}

export interface ClusterTopology {
  node: string;
  client: PodNetns;
  backends: [PodNetns, PodNetns];
  destroy(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const inNs = (netns: string, file: string, ...args: string[]) =>
  execFileSync('ip', ['netns', 'exec', netns, file, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });

/**
 * kube-proxy's nftables shape for one family: round-robin (numgen inc) so that each backend gets
 * an exact half. The Service has the same port over TCP and UDP, as a DNS Service does.
 */
function natRules(family: 'ip' | 'ip6', clusterIp: string, backends: string[]): string {
  const addr = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const target = (b: string) => (family === 'ip' ? `${b}:${BACKEND_PORT}` : `[${b}]:${BACKEND_PORT}`);
  return `table ${family} sockscope-kube-proxy {
  map service-ips {
    type ${addr} . inet_proto . inet_service : verdict
    elements = { ${clusterIp} . tcp . ${SERVICE_PORT} : goto service-web-http, ${clusterIp} . udp . ${SERVICE_PORT} : goto service-web-http }
  }
  chain nat-prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ${family} daddr . meta l4proto . th dport vmap @service-ips
  }
  chain service-web-http {
    numgen inc mod ${backends.length} vmap { ${backends.map((_, i) => `${i} : goto endpoint-${i}`).join(', ')} }
  }
${backends.map((b, i) => `  chain endpoint-${i} {\n    meta l4proto { tcp, udp } dnat to ${target(b)}\n  }`).join('\n')}
}
`;
}

export function createClusterTopology(tag: string): ClusterTopology {
  const node = `sscl-node-${tag}`;
  const pods: PodNetns[] = ['cli', 'bea', 'beb'].map((name, i) => ({
    netns: `sscl-${name}-${tag}`,
    ipv4: `10.244.${i + 1}.2`,
    ipv6: `fd00:10:244:${i + 1}::2`,
  }));
  const created: string[] = [];
  const topology: ClusterTopology = {
    node,
    client: pods[0]!,
    backends: [pods[1]!, pods[2]!],
    destroy: () => {
      for (const ns of created.reverse()) {
        try {
          ip('netns', 'del', ns);
        } catch {
          /* already gone */
        }
      }
    },
  };
  try {
    for (const ns of [node, ...pods.map((p) => p.netns)]) {
      ip('netns', 'add', ns);
      created.push(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    inNs(node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    inNs(node, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    pods.forEach((pod, i) => {
      const hostSide = `veth${i + 1}`;
      ip('-n', node, 'link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.netns);
      ip('-n', node, 'addr', 'add', `10.244.${i + 1}.1/24`, 'dev', hostSide);
      ip('-n', node, 'addr', 'add', `fd00:10:244:${i + 1}::1/64`, 'dev', hostSide, 'nodad');
      ip('-n', node, 'link', 'set', hostSide, 'up');
      ip('-n', pod.netns, 'addr', 'add', `${pod.ipv4}/24`, 'dev', 'eth0');
      ip('-n', pod.netns, 'addr', 'add', `${pod.ipv6}/64`, 'dev', 'eth0', 'nodad');
      ip('-n', pod.netns, 'link', 'set', 'eth0', 'up');
      ip('-n', pod.netns, 'route', 'add', 'default', 'via', `10.244.${i + 1}.1`);
      ip('-n', pod.netns, '-6', 'route', 'add', 'default', 'via', `fd00:10:244:${i + 1}::1`);
    });
    // An address on the node outside the cluster networks, for a peer that must carry no address.
    ip('-n', node, 'addr', 'add', `${EXTERNAL_IP.ipv4}/32`, 'dev', 'lo');
    ip('-n', node, 'addr', 'add', `${EXTERNAL_IP.ipv6}/128`, 'dev', 'lo');
    const rules =
      natRules('ip', CLUSTER_IP.ipv4, topology.backends.map((b) => b.ipv4)) +
      natRules('ip6', CLUSTER_IP.ipv6, topology.backends.map((b) => b.ipv6));
    execFileSync('ip', ['netns', 'exec', node, 'nft', '-f', '-'], { input: rules, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (err) {
    topology.destroy();
    throw err;
  }
  return topology;
}
