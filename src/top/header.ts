/** The header of `sockscope top`: what is shown, the totals, the attach plan and the losses. */
import type { ViewSnapshot } from '../view/snapshot';
import { formatBytes, formatBytesPerSecond, formatCount, formatPerSecond, formatSeconds } from './format';

/** The losses always shown, by the name a person reads; other loss counters appear when non-zero. */
const NAMED_LOSSES: ReadonlyArray<[key: string, name: string]> = [
  ['eventsLost', 'lost'],
  ['eventsMissed', 'missed'],
  ['ioSpilled', 'spilled'],
];

export interface Loss {
  name: string;
  value: number;
}

export interface Header {
  title: string;
  totals: string;
  plan: string;
  /** lost, missed and spilled, then every other loss counter that is not zero. */
  losses: Loss[];
}

export function header(snapshot: ViewSnapshot): Header {
  const { sockscope, totals: t } = snapshot;
  const window = snapshot.windowSeconds > 0 ? `rates over ${snapshot.windowSeconds.toFixed(2)} s` : 'rates: waiting for a second sample';
  return {
    title: `sockscope ${sockscope.version} on ${sockscope.hostname} (kernel ${sockscope.kernel}) · by ${snapshot.groupBy} · ${window} · ${snapshot.time}`,
    totals:
      `total  tx ${formatBytesPerSecond(t.txBytesPerSecond)}  rx ${formatBytesPerSecond(t.rxBytesPerSecond)}` +
      `  tx ${formatBytes(t.txBytes)}  rx ${formatBytes(t.rxBytes)}  conns ${formatCount(t.activeConnections)}` +
      `  opened ${formatPerSecond(t.openedPerSecond)}/s  failed ${formatPerSecond(t.failedPerSecond)}/s` +
      `  retransmits ${formatPerSecond(t.retransmitsPerSecond)}/s` +
      `  rtt p50 ${formatSeconds(t.rttP50Seconds)} p99 ${formatSeconds(t.rttP99Seconds)}`,
    plan: `plan: ${snapshot.plan.summary}`,
    losses: losses(snapshot.losses),
  };
}

function losses(all: Readonly<Record<string, number>>): Loss[] {
  const named = new Set(NAMED_LOSSES.map(([key]) => key));
  return [
    ...NAMED_LOSSES.map(([key, name]) => ({ name, value: all[key] ?? 0 })),
    ...Object.entries(all)
      .filter(([key, value]) => !named.has(key) && value !== 0)
      .map(([name, value]) => ({ name, value })),
  ];
}

/** "losses: lost 0  missed 0  spilled 0", plus "(!)" marks in plain text, where colour is not available. */
export function lossesText(list: readonly Loss[]): string {
  return `losses: ${list.map((l) => `${l.name} ${l.value}${l.value !== 0 ? ' (!)' : ''}`).join('  ')}`;
}
