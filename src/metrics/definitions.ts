/**
 * The metrics contract: every instrument sockscope exports, in one table.
 * docs/metrics.md is checked against this table by test/unit/metrics-doc.test.ts.
 */

export type InstrumentKind = 'counter' | 'gauge';

export interface AttributeDefinition {
  name: string;
  description: string;
}

export interface MetricDefinition {
  /** OpenTelemetry instrument name. */
  name: string;
  /** Prometheus family name, as exposed on /metrics. */
  prometheusName: string;
  kind: InstrumentKind;
  /** UCUM unit. */
  unit: string;
  description: string;
  attributes: AttributeDefinition[];
}

export const ATTR_TRANSPORT = 'network.transport';
export const ATTR_DIRECTION = 'network.io.direction';
export const ATTR_NETWORK_TYPE = 'network.type';
export const ATTR_EXECUTABLE = 'process.executable.name';

export const NETWORK_IO: MetricDefinition = {
  name: 'sockscope.network.io',
  prometheusName: 'sockscope_network_io_bytes_total',
  kind: 'counter',
  unit: 'By',
  description: 'Bytes moved by TCP and UDP sockets (successful send and receive calls), per process.',
  attributes: [
    { name: ATTR_TRANSPORT, description: '`tcp` or `udp`' },
    { name: ATTR_DIRECTION, description: '`transmit` or `receive`' },
    { name: ATTR_NETWORK_TYPE, description: '`ipv4` or `ipv6` (an IPv6 socket talking to a v4-mapped peer counts as `ipv4`)' },
    { name: ATTR_EXECUTABLE, description: 'process name (kernel `comm`, at most 15 characters)' },
  ],
};

export const EVENTS_LOST: MetricDefinition = {
  name: 'sockscope.ebpf.events.lost',
  prometheusName: 'sockscope_ebpf_events_lost_total',
  kind: 'counter',
  unit: '{event}',
  description: 'Events the kernel could not hand to sockscope because the ring buffer was full; their bytes are missing from the counters.',
  attributes: [],
};

export const BUILD_INFO: MetricDefinition = {
  name: 'sockscope.build.info',
  prometheusName: 'sockscope_build_info',
  kind: 'gauge',
  unit: '',
  description: 'Always 1; the attributes describe this sockscope build.',
  attributes: [
    { name: 'version', description: 'sockscope version' },
    { name: 'nodejs.version', description: 'Node.js runtime version' },
  ],
};

export const METRICS: readonly MetricDefinition[] = [NETWORK_IO, EVENTS_LOST, BUILD_INFO];
