/**
 * Processes known to live in each network namespace, so reconciliation can read that
 * namespace's /proc/<tgid>/net/tcp when the daemon (capability-less after start) cannot
 * read the ns link of any process in it. /proc/<tgid>/net needs no ptrace access.
 *
 * A tgid is kept with its start time: a pid reused by a process elsewhere has another
 * start time, and is not taken as a way into the namespace.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface NetnsWitness {
  tgid: number;
  /** Field 22 of /proc/<tgid>/stat (clock ticks since boot), as text. */
  startTime: string;
}

/** The start time in /proc/<tgid>/stat, or undefined if the process is gone. */
export function processStartTime(tgid: number, procRoot = '/proc'): string | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(procRoot, String(tgid), 'stat'), 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: count fields after its closing one.
  const afterComm = text.slice(text.lastIndexOf(')') + 1).trim().split(/\s+/);
  return afterComm[22 - 3];
}

/** A few witnesses per namespace are enough: any live one lists it. */
const WITNESSES_PER_NETNS = 4;

export class NetnsWitnesses {
  private readonly byNetns = new Map<number, NetnsWitness[]>();

  constructor(private readonly startTimeOf: (tgid: number) => string | undefined = (tgid) => processStartTime(tgid)) {}

  /** Records that `tgid` owned a connection in `netns`; reads its start time only when it would be kept. */
  note(netns: number, tgid: number): void {
    const witnesses = this.byNetns.get(netns) ?? [];
    if (witnesses.length >= WITNESSES_PER_NETNS || witnesses.some((w) => w.tgid === tgid)) return;
    const startTime = this.startTimeOf(tgid);
    if (startTime === undefined) return; // exited already
    witnesses.push({ tgid, startTime });
    this.byNetns.set(netns, witnesses);
  }

  /** Forgets witnesses that exited (or whose pid now names another process): room for live ones. */
  prune(): void {
    for (const [netns, witnesses] of this.byNetns) {
      const live = witnesses.filter((w) => this.startTimeOf(w.tgid) === w.startTime);
      if (live.length === 0) this.byNetns.delete(netns);
      else this.byNetns.set(netns, live);
    }
  }

  get all(): ReadonlyMap<number, readonly NetnsWitness[]> {
    return this.byNetns;
  }
}
