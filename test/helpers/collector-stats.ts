/** Collector counters with nothing counted, for tests that feed a producer by hand. */
import type { CollectorStats, ConnectionSource } from '../../src/collector/types';

export const NO_COLLECTOR_STATS: Readonly<CollectorStats> = {
  eventsLost: 0,
  eventsReceived: 0,
  drainWakeups: 0,
  ioCallsSpilled: 0,
  ioCacheEvictions: 0,
  flowMapErrors: 0,
  malformedRecords: 0,
  mapFull: { sockets: 0, listeners: 0, flow_table: 0, connection_events: 0 },
  missedByHook: {},
  mapMemoryBytes: {},
};

/** A connection source that never has anything (flow-only tests). */
export const NO_CONNECTIONS: ConnectionSource = { drainConnections: async () => ({ records: [] }) };
