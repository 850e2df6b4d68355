/**
 * The TCP sockets that existed before sockscope started, and their owners, read from
 * /proc/net/tcp{,6} and the /proc/<pid>/fd inode walk. The kernel side learns owners
 * only from connections it sees open; this fills the gap for older ones.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { addressAt } from './flow-decoder';
import { TCP_STATES, type IpFamily, type SocketOwner, type TcpState } from './types';
import { localCgroup2Mount } from '../attribution/cgroup-mount';

export interface ProcSocket {
  family: IpFamily;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: TcpState;
  inode: number;
}

export interface BootstrapResult {
  /** Sockets with an owner found by the fd walk. */
  sockets: Array<ProcSocket & { owner?: SocketOwner }>;
  /** Processes that vanished or could not be read during the walk (normal, counted). */
  unreadableProcesses: number;
}

const AF_INET = 2;
const AF_INET6 = 10;

/** Parses one /proc/net/tcp or tcp6 file's text. Malformed lines are skipped. */
export function parseProcNetTcp(text: string, family: IpFamily): ProcSocket[] {
  const out: ProcSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = parseEndpoint(f[1]!, family);
    const remote = parseEndpoint(f[2]!, family);
    const state = Number.parseInt(f[3]!, 16);
    const inode = Number(f[9]);
    if (!local || !remote || !Number.isInteger(inode)) continue;
    out.push({
      family,
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      state: TCP_STATES[state] ?? 'UNKNOWN',
      inode,
    });
  }
  return out;
}

/** Scratch space for one address; parsing is synchronous. */
const addressBytes = Buffer.alloc(16);

/** "0100007F:1F90" -> 127.0.0.1:8080. The address is in host-order 32-bit words. */
function parseEndpoint(text: string, family: IpFamily): { address: string; port: number } | undefined {
  const [hex, portHex] = text.split(':');
  if (!hex || !portHex || hex.length !== (family === 'ipv4' ? 8 : 32)) return undefined;
  addressBytes.fill(0);
  for (let word = 0; word < hex.length / 8; word++) {
    addressBytes.writeUInt32LE(Number.parseInt(hex.slice(word * 8, word * 8 + 8), 16) >>> 0, word * 4);
  }
  // The same addresses recur on thousands of lines: addressAt hands out one string for each.
  return { address: addressAt(family === 'ipv4' ? AF_INET : AF_INET6, addressBytes, 0), port: Number.parseInt(portHex, 16) };
}

/**
 * inode -> owning process, by walking /proc/<pid>/fd. A socket shared by processes keeps
 * the first found. Also one process per network namespace: in a pod, /proc/net/tcp
 * lists only the pod's own namespace, so sockets are read through a process in each.
 */
export function socketOwnersByInode(procRoot = '/proc'): {
  owners: Map<number, SocketOwner>;
  unreadable: number;
  pidPerNetns: Map<string, number>;
} {
  const owners = new Map<number, SocketOwner>();
  const pidPerNetns = new Map<string, number>();
  const cgroupRoot = localCgroup2Mount();
  let unreadable = 0;
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    const pidDir = path.join(procRoot, entry);
    try {
      const netns = readlinkSync(path.join(pidDir, 'ns', 'net'));
      if (!pidPerNetns.has(netns)) pidPerNetns.set(netns, Number(entry));
    } catch {
      /* exited, or not ours to read */
    }
    let fds: string[];
    try {
      fds = readdirSync(path.join(pidDir, 'fd'));
    } catch {
      unreadable++; // exited, or not ours to read
      continue;
    }
    let owner: SocketOwner | undefined;
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(path.join(pidDir, 'fd', fd));
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m) continue;
      const inode = Number(m[1]);
      if (owners.has(inode)) continue;
      owner ??= readOwner(pidDir, Number(entry), cgroupRoot);
      if (!owner) break;
      owners.set(inode, owner);
    }
  }
  return { owners, unreadable, pidPerNetns };
}

function readOwner(pidDir: string, tgid: number, cgroupRoot: string | undefined): SocketOwner | undefined {
  try {
    const comm = readFileSync(path.join(pidDir, 'comm'), 'utf8').trimEnd();
    return { tgid, pid: tgid, comm, cgroupId: cgroupIdOf(pidDir, cgroupRoot) };
  } catch {
    return undefined;
  }
}

/** The cgroup v2 id is the inode of the process's cgroup directory. 0 when unknown. */
function cgroupIdOf(pidDir: string, cgroupRoot: string | undefined): bigint {
  if (!cgroupRoot) return 0n;
  try {
    const line = readFileSync(path.join(pidDir, 'cgroup'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    if (!line) return 0n;
    return statSync(path.join(cgroupRoot, line.slice(3)), { bigint: true }).ino;
  } catch {
    return 0n;
  }
}

/** Every TCP socket in every network namespace we can see, with its owner where the fd walk found one. */
export function bootstrapTcpSockets(procRoot = '/proc'): BootstrapResult {
  const { owners, unreadable, pidPerNetns } = socketOwnersByInode(procRoot);
  return {
    // Not `{ ...s, owner }`: a spread plus a property gives every object a shape of its own (~300 bytes).
    sockets: readTcpSockets(procRoot, pidPerNetns.values()).map((s) => withOwner(s, owners.get(s.inode))),
    unreadableProcesses: unreadable,
  };
}

function withOwner(s: ProcSocket, owner: SocketOwner | undefined): ProcSocket & { owner?: SocketOwner } {
  return {
    family: s.family,
    localAddress: s.localAddress,
    localPort: s.localPort,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    state: s.state,
    inode: s.inode,
    owner,
  };
}

/** Every TCP socket in every network namespace, without owners (no fd walk): cheap enough to repeat. */
export function listTcpSockets(procRoot = '/proc'): ProcSocket[] {
  const pidPerNetns = new Map<string, number>();
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const netns = readlinkSync(path.join(procRoot, entry, 'ns', 'net'));
      if (!pidPerNetns.has(netns)) pidPerNetns.set(netns, Number(entry));
    } catch {
      /* exited */
    }
  }
  return readTcpSockets(procRoot, pidPerNetns.values());
}

function readTcpSockets(procRoot: string, netnsPids: Iterable<number>): ProcSocket[] {
  // Our own namespace first (always readable), then one process in each other one.
  const netDirs = [path.join(procRoot, 'net'), ...[...netnsPids].map((pid) => path.join(procRoot, String(pid), 'net'))];
  const byInode = new Map<number, ProcSocket>();
  for (const dir of netDirs) {
    for (const [file, family] of [['tcp', 'ipv4'], ['tcp6', 'ipv6']] as const) {
      let text: string;
      try {
        text = readFileSync(path.join(dir, file), 'utf8');
      } catch {
        continue; // IPv6 disabled, or the process exited
      }
      for (const s of parseProcNetTcp(text, family)) {
        // Inode 0 (TIME_WAIT) is not unique: key those by namespace and tuple.
        const key = s.inode !== 0 ? s.inode : -byInode.size - 1;
        if (!byInode.has(key) || s.inode === 0) byInode.set(key, s);
      }
    }
  }
  return [...byInode.values()];
}
