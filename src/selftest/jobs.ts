/** What each self-test child does (src/selftest/child.ts), and how much: the expected counts follow from it. */
import { randomBytes } from 'node:crypto';

export type ChildJob =
  | { kind: 'namespace'; name: string }
  | { kind: 'serve'; name: string }
  | { kind: 'tcp-echo'; name: string; host: string; port: number; bytes: number }
  | { kind: 'udp-echo'; name: string; host: string; port: number; count: number; size: number }
  | { kind: 'connect'; name: string; host: string; port: number; count: number; bytes: number; refusedPort: number; refusedCount: number }
  | { kind: 'hold'; name: string; host: string; port: number; count: number }
  | { kind: 'bulk'; name: string; host: string; port: number; writes: number; size: number };

/** The amounts the self-test moves; odd sizes, so that a count off by a header or a call shows. */
export const WORKLOAD = {
  tcpBytes: 200_003,
  udpDatagrams: 17,
  udpSize: 1_201,
  connects: 20,
  connectBytes: 101,
  refused: 7,
  /** Nobody listens on it in the fresh namespace: connect() gets an RST. */
  refusedPort: 9,
  held: 5,
  bulkWrites: 80,
  bulkSize: 1_000,
} as const;

/** The children's process names: unique per run, at most 15 characters (the kernel's comm). */
export interface ChildNames {
  namespace: string;
  server: string;
  tcp4: string;
  tcp6: string;
  udp4: string;
  udp6: string;
  connect: string;
  hold: string;
  bulk: string;
}

export function childNames(tag = randomBytes(2).toString('hex')): ChildNames {
  const name = (role: string) => `sst-${role}-${tag}`;
  return {
    namespace: name('ns'),
    server: name('srv'),
    tcp4: name('tcp4'),
    tcp6: name('tcp6'),
    udp4: name('udp4'),
    udp6: name('udp6'),
    connect: name('conn'),
    hold: name('hold'),
    bulk: name('rtx'),
  };
}
