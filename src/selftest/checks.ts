/**
 * The self-test's checks: what its children did, against what the producer exports for
 * them (the MetricData behind /metrics), summed over the series that carry their names.
 */
import type { Attributes } from '@opentelemetry/api';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import * as defs from '../metrics/definitions';
import { WORKLOAD, type ChildNames } from './jobs';

export type Verdict = 'PASS' | 'FAIL' | 'NOT RUN';

export interface CheckResult {
  check: string;
  expected: string;
  seen: string;
  verdict: Verdict;
}

/** Sum of one metric's points whose attributes include `match` (histograms: their sample counts). */
export function total(metrics: ResourceMetrics, metric: string, match: Attributes): number {
  let n = 0;
  for (const m of metrics.scopeMetrics.flatMap((s) => s.metrics) as MetricData[]) {
    if (m.descriptor.name !== metric) continue;
    for (const p of m.dataPoints as Array<{ attributes: Attributes; value: unknown }>) {
      if (!Object.entries(match).every(([k, v]) => p.attributes[k] === v)) continue;
      n += typeof p.value === 'number' ? p.value : (p.value as { count: number }).count;
    }
  }
  return n;
}

export function exactly(check: string, expected: number, seen: number): CheckResult {
  return { check, expected: String(expected), seen: String(seen), verdict: seen === expected ? 'PASS' : 'FAIL' };
}

export function atLeast(check: string, min: number, seen: number): CheckResult {
  return { check, expected: `>= ${min}`, seen: String(seen), verdict: seen >= min ? 'PASS' : 'FAIL' };
}

export function notRun(check: string, reason: string): CheckResult {
  return { check, expected: '-', seen: reason, verdict: 'NOT RUN' };
}

/** What the self-test measured: the producer's metrics at two moments, and the kernel's own retransmit count. */
export interface Observations {
  /** While the hold child keeps its connections open. */
  held: ResourceMetrics;
  /** After every workload child is done. */
  after: ResourceMetrics;
  /** Retransmitted segments in the namespace (its TCP MIB), or why the drop rule could not be set. */
  retransmits: { kernel: number } | { notRun: string };
}

const IO = defs.NETWORK_IO.name;
const process = (name: string) => ({ [defs.ATTR_EXECUTABLE]: name });

/** The hold child's connections in the active gauge. */
export function heldActive(names: ChildNames, metrics: ResourceMetrics): number {
  return total(metrics, defs.CONNECTIONS_ACTIVE.name, { ...process(names.hold), [defs.ATTR_CONNECTION_DIRECTION]: 'active' });
}

export function evaluate(names: ChildNames, seen: Observations): CheckResult[] {
  const w = WORKLOAD;
  const { after, held } = seen;
  const bytes = (name: string, transport: string, direction: string, type?: string) =>
    total(after, IO, { ...process(name), [defs.ATTR_TRANSPORT]: transport, [defs.ATTR_DIRECTION]: direction, ...(type ? { [defs.ATTR_NETWORK_TYPE]: type } : {}) });
  const connections = (metric: string, name: string, m: ResourceMetrics = after, extra: Attributes = {}) =>
    total(m, metric, { ...process(name), ...extra });
  const results: CheckResult[] = [];
  for (const [type, client] of [['ipv4', names.tcp4], ['ipv6', names.tcp6]] as const) {
    results.push(exactly(`tcp ${type} bytes sent by ${client}`, w.tcpBytes, bytes(client, 'tcp', 'transmit', type)));
    results.push(exactly(`tcp ${type} bytes received by ${client}`, w.tcpBytes, bytes(client, 'tcp', 'receive', type)));
  }
  const udpBytes = w.udpDatagrams * w.udpSize;
  for (const [type, client] of [['ipv4', names.udp4], ['ipv6', names.udp6]] as const) {
    results.push(exactly(`udp ${type} bytes sent by ${client}`, udpBytes, bytes(client, 'udp', 'transmit', type)));
    results.push(exactly(`udp ${type} bytes received by ${client}`, udpBytes, bytes(client, 'udp', 'receive', type)));
  }
  const connectBytes = w.connects * w.connectBytes;
  results.push(exactly(`tcp bytes sent by ${names.connect} over ${w.connects} connections`, connectBytes, bytes(names.connect, 'tcp', 'transmit')));
  // Attribution: the server's share, counted under its own name.
  const echoed = 2 * w.tcpBytes + connectBytes;
  results.push(exactly(`tcp bytes received by the server ${names.server}`, echoed + w.bulkWrites * w.bulkSize, bytes(names.server, 'tcp', 'receive')));
  results.push(exactly(`tcp bytes sent by the server ${names.server}`, echoed, bytes(names.server, 'tcp', 'transmit')));
  results.push(exactly(`udp bytes received by the server ${names.server}`, 2 * udpBytes, bytes(names.server, 'udp', 'receive')));

  const active = { [defs.ATTR_CONNECTION_DIRECTION]: 'active' };
  results.push(exactly(`connections opened by ${names.connect}`, w.connects, connections(defs.CONNECTIONS_OPENED.name, names.connect, after, active)));
  results.push(exactly(`connections closed by ${names.connect}`, w.connects, connections(defs.CONNECTIONS_CLOSED.name, names.connect, after, active)));
  results.push(exactly(`refused connects by ${names.connect}`, w.refused, connections(defs.CONNECTIONS_FAILED.name, names.connect, after, { [defs.ATTR_ERROR_TYPE]: 'refused' })));
  results.push(exactly(`connections active while ${names.hold} holds them`, w.held, heldActive(names, held)));
  results.push(exactly(`connections active after ${names.hold} closed them`, 0, connections(defs.CONNECTIONS_ACTIVE.name, names.hold, after)));

  const rtx = 'retransmits (nft drops every fourth segment)';
  if ('notRun' in seen.retransmits) results.push(notRun(rtx, seen.retransmits.notRun));
  else {
    const counted = Object.values(names).reduce((n, name) => n + total(after, defs.RETRANSMITS.name, process(name)), 0);
    results.push(exactly(`${rtx}, as the namespace's TCP MIB counts them`, seen.retransmits.kernel, counted));
    results.push(atLeast(`${rtx}, some happened`, 1, seen.retransmits.kernel));
  }
  for (const client of [names.tcp4, names.tcp6]) {
    results.push(atLeast(`rtt samples of ${client}`, 1, total(after, defs.RTT.name, process(client))));
  }
  return results;
}

/** 0 when every check that ran passed, 1 when one failed. */
export function exitStatus(results: readonly CheckResult[]): 0 | 1 {
  return results.some((r) => r.verdict === 'FAIL') ? 1 : 0;
}
