/**
 * The TCP sockets that existed before sockscope started, and their owners, read from
 * /proc/net/tcp{,6} and the /proc/<pid>/fd inode walk. The kernel side learns owners
 * only from connections it sees open; this fills the gap for older ones.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { addressAt, wireFamily } from './flow-decoder';
import { TCP_STATES, type Direction, type IpFamily, type SocketOwner, type TcpState, type TcpTuple } from './types';
import { localCgroup2Mount } from '../attribution/cgroup-mount';
import { processStartTime, type NetnsWitness } from './netns-witnesses';

export interface ProcSocket extends TcpTuple {
  /** Family on the wire (see FlowDelta.family). */
  wireFamily: IpFamily;
  state: TcpState;
  /** Socket inode; 0 for TIME_WAIT, which has no socket file any more. */
  inode: number;
  /** Inode of the network namespace whose /proc/net/tcp listed it. */
  netns: number;
}

export interface BootstrapResult {
  /** Sockets with an owner found by the fd walk. */
  sockets: Array<ProcSocket & { owner?: SocketOwner }>;
  /** Processes that vanished or could not be read during the walk (normal, counted). */
  unreadableProcesses: number;
}

const AF_INET = 2;
const AF_INET6 = 10;
const TIME_WAIT = TCP_STATES.indexOf('TIME_WAIT');

/** Parses one /proc/net/tcp or tcp6 file's text, of namespace `netns`. Malformed lines are skipped. */
export function parseProcNetTcp(text: string, family: IpFamily, netns: number): ProcSocket[] {
  const out: ProcSocket[] = [];
  const rawFamily = family === 'ipv4' ? AF_INET : AF_INET6;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const localPort = parseEndpoint(f[1]!, family, LOCAL);
    const remotePort = parseEndpoint(f[2]!, family, REMOTE);
    if (localPort === undefined || remotePort === undefined || !STATE.test(f[3]!) || !INODE.test(f[9]!)) continue;
    // A TIME_WAIT socket is listed with its substate: FIN_WAIT2 until the peer's FIN arrives
    // (an orphan's close goes straight there). Its timer ("tr") is 3, which no full socket has.
    const state = f[5]!.startsWith('03:') ? TIME_WAIT : Number.parseInt(f[3]!, 16);
    const inode = Number(f[9]);
    if (!Number.isSafeInteger(inode)) continue;
    out.push({
      family,
      // The same addresses recur on thousands of lines: addressAt hands out one string for each.
      localAddress: addressAt(rawFamily, addressBytes, LOCAL),
      localPort,
      remoteAddress: addressAt(rawFamily, addressBytes, REMOTE),
      remotePort,
      wireFamily: wireFamily(rawFamily, addressBytes, LOCAL, REMOTE),
      state: TCP_STATES[state] ?? 'UNKNOWN',
      inode,
      netns,
    });
  }
  return out;
}

/** Scratch space for one line's local and remote address; parsing is synchronous. */
const addressBytes = Buffer.alloc(32);
const LOCAL = 0;
const REMOTE = 16;

// The kernel's formats (%08X or 4 x %08X, %04X, %02X, %lu); anything else is not its row.
const ENDPOINT = { ipv4: /^[0-9A-Fa-f]{8}:[0-9A-Fa-f]{4}$/, ipv6: /^[0-9A-Fa-f]{32}:[0-9A-Fa-f]{4}$/ } as const;
const STATE = /^[0-9A-Fa-f]{2}$/;
const INODE = /^\d+$/;

/**
 * "0100007F:1F90" -> 127.0.0.1 into addressBytes at `at`, and returns the port (8080).
 * The address is in host-order 32-bit words.
 */
function parseEndpoint(text: string, family: IpFamily, at: number): number | undefined {
  // Strict: parseInt would read "0000000Z" as 0 and "ZZ" as NaN instead of refusing them.
  if (!ENDPOINT[family].test(text)) return undefined;
  const [hex, portHex] = text.split(':') as [string, string];
  addressBytes.fill(0, at, at + 16);
  for (let word = 0; word < hex.length / 8; word++) {
    addressBytes.writeUInt32LE(Number.parseInt(hex.slice(word * 8, word * 8 + 8), 16) >>> 0, at + word * 4);
  }
  return Number.parseInt(portHex, 16);
}

/**
 * inode -> owning process, by walking /proc/<pid>/fd. A socket shared by processes keeps
 * the first found. Also one process per network namespace: in a pod, /proc/net/tcp
 * lists only the pod's own namespace, so sockets are read through a process in each.
 */
export function socketOwnersByInode(procRoot = '/proc'): {
  owners: Map<number, SocketOwner>;
  unreadable: number;
  /** A /proc/<pid> directory in each network namespace, by namespace inode. */
  netnsDirs: Map<number, string>;
} {
  const owners = new Map<number, SocketOwner>();
  const netnsDirs = ownNetnsDir(procRoot);
  const cgroupRoot = localCgroup2Mount();
  let unreadable = 0;
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    const pidDir = path.join(procRoot, entry);
    noteNetnsDir(netnsDirs, pidDir);
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
  return { owners, unreadable, netnsDirs };
}

/** The inode in a /proc/<pid>/ns/net link ("net:[4026531840]"), or undefined. */
export function netnsInode(link: string): number | undefined {
  const m = /^net:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** Our own namespace first: /proc/self is always readable. */
function ownNetnsDir(procRoot: string): Map<number, string> {
  const netnsDirs = new Map<number, string>();
  noteNetnsDir(netnsDirs, path.join(procRoot, 'self'));
  return netnsDirs;
}

/** Keeps `pidDir` as the way into its network namespace, unless that namespace has one already. */
function noteNetnsDir(netnsDirs: Map<number, string>, pidDir: string): void {
  try {
    const netns = netnsInode(readlinkSync(path.join(pidDir, 'ns', 'net')));
    if (netns !== undefined && !netnsDirs.has(netns)) netnsDirs.set(netns, pidDir);
  } catch {
    /* exited, or not ours to read */
  }
}

function readOwner(pidDir: string, tgid: number, cgroupRoot: string | undefined): SocketOwner | undefined {
  try {
    const comm = readFileSync(path.join(pidDir, 'comm'), 'utf8').trimEnd();
    // /proc/<pid>/comm is the leader's: the process name, and no thread is known.
    return { tgid, pid: tgid, comm, threadName: comm, cgroupId: cgroupIdOf(pidDir, cgroupRoot) };
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
  const { owners, unreadable, netnsDirs } = socketOwnersByInode(procRoot);
  return {
    // Not `{ ...s, owner }`: a spread plus a property gives every object a shape of its own (~300 bytes).
    sockets: readTcpSockets(netnsDirs).map((s) => withOwner(s, owners.get(s.inode))),
    unreadableProcesses: unreadable,
  };
}

/** The socket with its owner (and direction, once known); one shape for all of them. */
export function withOwner(
  s: ProcSocket,
  owner: SocketOwner | undefined,
  direction?: Direction,
): ProcSocket & { owner?: SocketOwner; direction?: Direction } {
  return {
    family: s.family,
    localAddress: s.localAddress,
    localPort: s.localPort,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    wireFamily: s.wireFamily,
    state: s.state,
    inode: s.inode,
    netns: s.netns,
    owner,
    direction,
  };
}

/** The TCP sockets of the network namespaces whose lists could be read, and which those were. */
export interface TcpSocketListing {
  sockets: ProcSocket[];
  /**
   * Namespaces whose /proc/<pid>/net/tcp was read. Without CAP_SYS_PTRACE (dropped after
   * start) the ns link of a more privileged process cannot be read, so its namespace may be
   * missing: that says nothing about its sockets.
   */
  namespaces: Set<number>;
}

/**
 * Every TCP socket in every network namespace we can see, without owners (no fd walk):
 * cheap enough to repeat. A namespace no readable ns link leads to is read through one of
 * its `witnesses`, a process known to own a connection there.
 */
export function listTcpSocketsByNamespace(
  procRoot = '/proc',
  witnesses: ReadonlyMap<number, readonly NetnsWitness[]> = new Map(),
): TcpSocketListing {
  const netnsDirs = ownNetnsDir(procRoot);
  for (const entry of readdirSync(procRoot)) {
    if (/^\d+$/.test(entry)) noteNetnsDir(netnsDirs, path.join(procRoot, entry));
  }
  const namespaces = new Set<number>();
  const sockets = readTcpSockets(netnsDirs, namespaces);
  for (const [netns, candidates] of witnesses) {
    if (namespaces.has(netns)) continue;
    for (const w of candidates) {
      if (readThroughWitness(procRoot, netns, w, sockets)) {
        namespaces.add(netns);
        break;
      }
    }
  }
  return { sockets, namespaces };
}

/**
 * Appends the namespace's sockets read through /proc/<tgid>/net, if the witness is the same
 * process before and after the read (a reused pid could be in another namespace).
 */
function readThroughWitness(procRoot: string, netns: number, w: NetnsWitness, into: ProcSocket[]): boolean {
  const pidDir = path.join(procRoot, String(w.tgid));
  if (processStartTime(w.tgid, procRoot) !== w.startTime) return false;
  const listed = new Set<number>();
  const read = readTcpSockets(new Map([[netns, pidDir]]), listed);
  // An exited witness leaves nothing to read: that is not an empty namespace.
  if (!listed.has(netns) || processStartTime(w.tgid, procRoot) !== w.startTime) return false;
  for (const s of read) into.push(s);
  return true;
}

export function listTcpSockets(procRoot = '/proc'): ProcSocket[] {
  return listTcpSocketsByNamespace(procRoot).sockets;
}

/** Each namespace's /proc/<pid>/net/tcp{,6} once, every row tagged with its namespace; adds the namespaces read to `read`. */
function readTcpSockets(netnsDirs: ReadonlyMap<number, string>, read = new Set<number>()): ProcSocket[] {
  const sockets: ProcSocket[] = [];
  for (const [netns, pidDir] of netnsDirs) {
    for (const [file, family] of [['tcp', 'ipv4'], ['tcp6', 'ipv6']] as const) {
      let text: string;
      try {
        text = readFileSync(path.join(pidDir, 'net', file), 'utf8');
      } catch {
        continue; // IPv6 disabled, or the process exited
      }
      // IPv4 is enough to know the namespace was read: tcp6 is missing where IPv6 is off.
      if (family === 'ipv4') read.add(netns);
      for (const s of parseProcNetTcp(text, family, netns)) sockets.push(s);
    }
  }
  return sockets;
}
