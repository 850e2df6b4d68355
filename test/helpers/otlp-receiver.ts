import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';

/*
 * @opentelemetry/otlp-transformer 0.223.0 only ships an encoder (and a response
 * decoder), so requests are decoded from the official OTLP .proto files that
 * @opentelemetry/otlp-grpc-exporter-base 0.38.0 ships in build/protos. It is
 * installed under the alias `otlp-proto-files` so that it never shadows the
 * 0.223.0 copy the real exporter depends on.
 */
const PROTO_ROOT = join(dirname(require.resolve('otlp-proto-files/package.json')), 'build', 'protos');
const METRICS_SERVICE_PROTO = 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto';
const METRICS_SERVICE = 'opentelemetry.proto.collector.metrics.v1.MetricsService';

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;
/** int64 as decoded: `longs: String` gives strings, but accept any Long-ish shape. */
type Int64 = string | number | bigint | { toString(): string };

// Decoded message shapes (proto-loader with camelCase fields, virtual oneof names).
export interface AnyValue {
  value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
  arrayValue?: { values: AnyValue[] };
  kvlistValue?: { values: KeyValue[] };
  bytesValue?: Buffer;
}
export interface KeyValue {
  key: string;
  value?: AnyValue;
}
export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: Int64;
  timeUnixNano: Int64;
  value?: 'asInt' | 'asDouble';
  asInt?: Int64;
  asDouble?: number;
}
export interface Metric {
  name: string;
  description: string;
  unit: string;
  data?: 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
  gauge?: { dataPoints: NumberDataPoint[] };
  sum?: { dataPoints: NumberDataPoint[]; aggregationTemporality: string; isMonotonic: boolean };
}
export interface ExportMetricsServiceRequest {
  resourceMetrics: Array<{
    resource?: { attributes: KeyValue[] };
    scopeMetrics: Array<{ scope?: { name: string; version: string }; metrics: Metric[] }>;
  }>;
}

export interface ReceivedExport {
  request: ExportMetricsServiceRequest;
  metadata: grpc.Metadata;
}

/** A number data point of a sum or gauge, flattened with its context. */
export interface FoundDataPoint {
  metricName: string;
  kind: 'sum' | 'gauge';
  value: number;
  attributes: Attributes;
  resourceAttributes: Attributes;
  scopeName: string;
  /** Only for sums, e.g. 'AGGREGATION_TEMPORALITY_CUMULATIVE'. */
  aggregationTemporality?: string;
  isMonotonic?: boolean;
  timeUnixNano: bigint;
  /** Index of the export request it came in. */
  requestIndex: number;
}

export interface OtlpReceiverOptions {
  /** Serve TLS with these PEM files; with `clientCa`, clients must present a certificate it signed. */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
  /** Metadata every export must carry (lowercase keys); others are rejected with UNAUTHENTICATED. */
  requiredHeaders?: Record<string, string>;
  /** Keep only this many of the newest exports (long runs: every check scans all that are kept). */
  keepLast?: number;
}

/** A real OTLP/gRPC metrics endpoint on 127.0.0.1 that keeps every request. */
export class OtlpReceiver {
  readonly exports: ReceivedExport[] = [];
  /** Every export received, including those no longer kept (keepLast). */
  received = 0;
  /** Exports refused for a missing or wrong required header. */
  rejected = 0;
  private readonly arrivals = new EventEmitter();
  private server = new grpc.Server();
  private boundPort = 0;

  private constructor(private readonly options: OtlpReceiverOptions) {}

  static async start(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver(options);
    await receiver.listen();
    return receiver;
  }

  /** Listens again on the same port after stop(), keeping what was received. */
  async restart(): Promise<void> {
    this.server = new grpc.Server();
    await this.listen(this.boundPort);
  }

  private async listen(port = 0): Promise<void> {
    const definition = protoLoader.loadSync(METRICS_SERVICE_PROTO, {
      includeDirs: [PROTO_ROOT],
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    this.server.addService(definition[METRICS_SERVICE] as grpc.ServiceDefinition, {
      Export: (
        call: grpc.ServerUnaryCall<ExportMetricsServiceRequest, object>,
        callback: grpc.sendUnaryData<object>,
      ) => {
        const missing = Object.entries(this.options.requiredHeaders ?? {}).find(([key, value]) => call.metadata.get(key)[0] !== value);
        if (missing) {
          this.rejected += 1;
          // waitFor() checks again after every call, refused or not.
          this.arrivals.emit('export');
          callback({ code: grpc.status.UNAUTHENTICATED, details: `header ${missing[0]} missing or wrong` });
          return;
        }
        this.exports.push({ request: call.request, metadata: call.metadata });
        this.received += 1;
        if (this.options.keepLast !== undefined && this.exports.length > this.options.keepLast) this.exports.shift();
        this.arrivals.emit('export');
        callback(null, {});
      },
    });
    this.boundPort = await new Promise<number>((resolve, reject) => {
      const { tls } = this.options;
      const credentials = tls
        ? grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined)
        : grpc.ServerCredentials.createInsecure();
      this.server.bindAsync(`127.0.0.1:${port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get endpoint(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get requests(): ExportMetricsServiceRequest[] {
    return this.exports.map((received) => received.request);
  }

  /** Every number data point of `metricName` whose attributes include `attributes`, oldest first. */
  dataPoints(metricName: string, attributes: Attributes = {}): FoundDataPoint[] {
    return this.allDataPoints().filter(
      (point) => point.metricName === metricName && hasAttributes(point.attributes, attributes),
    );
  }

  /** The value of the newest matching data point, or undefined if none arrived yet. */
  latestValue(metricName: string, attributes: Attributes = {}): number | undefined {
    return this.dataPoints(metricName, attributes).at(-1)?.value;
  }

  metricNames(): string[] {
    return [...new Set(this.allDataPoints().map((point) => point.metricName))].sort();
  }

  /**
   * Resolves once `predicate` holds, checking after every export. A timeout
   * rejects with a summary of what did arrive.
   */
  waitFor(predicate: (receiver: OtlpReceiver) => boolean, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        let holds: boolean;
        try {
          holds = predicate(this);
        } catch (error) {
          finish();
          reject(error);
          return;
        }
        if (holds) {
          finish();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`OTLP receiver: condition not met after ${timeoutMs} ms; received:\n${this.describe()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.arrivals.off('export', check);
      };
      this.arrivals.on('export', check);
      check();
    });
  }

  /** Human-readable dump of the newest value per series, for failure messages. */
  describe(): string {
    const latest = new Map<string, number>();
    for (const point of this.allDataPoints()) {
      latest.set(`${point.metricName}${JSON.stringify(point.attributes)}`, point.value);
    }
    const lines = [...latest].map(([series, value]) => `  ${series} = ${value}`);
    return `${this.exports.length} export request(s)\n${lines.slice(0, 200).join('\n')}`;
  }

  async stop(): Promise<void> {
    // A client holding its connection open must not keep the test waiting.
    const force = setTimeout(() => this.server.forceShutdown(), 2_000);
    await new Promise<void>((resolve) => {
      this.server.tryShutdown(() => resolve());
    });
    clearTimeout(force);
  }

  private allDataPoints(): FoundDataPoint[] {
    const found: FoundDataPoint[] = [];
    this.exports.forEach(({ request }, requestIndex) => {
      for (const resourceMetrics of request.resourceMetrics) {
        const resourceAttributes = toAttributes(resourceMetrics.resource?.attributes ?? []);
        for (const scopeMetrics of resourceMetrics.scopeMetrics) {
          for (const metric of scopeMetrics.metrics) {
            const kind = metric.data;
            if (kind !== 'sum' && kind !== 'gauge') continue;
            const sum = metric.sum;
            for (const point of metric[kind]?.dataPoints ?? []) {
              found.push({
                metricName: metric.name,
                kind,
                value: pointValue(point),
                attributes: toAttributes(point.attributes),
                resourceAttributes,
                scopeName: scopeMetrics.scope?.name ?? '',
                aggregationTemporality: kind === 'sum' ? sum?.aggregationTemporality : undefined,
                isMonotonic: kind === 'sum' ? sum?.isMonotonic : undefined,
                timeUnixNano: BigInt(point.timeUnixNano.toString()),
                requestIndex,
              });
            }
          }
        }
      }
    });
    return found;
  }
}

/** Converts an int64 exactly; refuses values a JS number cannot hold. */
export function int64ToNumber(value: Int64): number {
  const big = typeof value === 'bigint' ? value : BigInt(value.toString());
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`int64 ${big} does not fit a JS number exactly`);
  }
  return Number(big);
}

function pointValue(point: NumberDataPoint): number {
  if (point.value === 'asInt' && point.asInt !== undefined) return int64ToNumber(point.asInt);
  if (point.value === 'asDouble' && point.asDouble !== undefined) return point.asDouble;
  throw new Error(`data point without a value: ${JSON.stringify(point)}`);
}

function toAttributes(keyValues: KeyValue[]): Attributes {
  const attributes: Attributes = {};
  for (const { key, value } of keyValues) {
    attributes[key] = value === undefined ? '' : anyValueToJs(value);
  }
  return attributes;
}

function anyValueToJs(value: AnyValue): AttributeValue {
  switch (value.value) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ?? false;
    case 'intValue':
      return value.intValue === undefined ? 0 : int64ToNumber(value.intValue);
    case 'doubleValue':
      return value.doubleValue ?? 0;
    case 'bytesValue':
      return value.bytesValue?.toString('hex') ?? '';
    case 'arrayValue':
      return JSON.stringify((value.arrayValue?.values ?? []).map(anyValueToJs));
    case 'kvlistValue':
      return JSON.stringify(toAttributes(value.kvlistValue?.values ?? []));
    default:
      return '';
  }
}

/** Compares as strings so that `{ pid: 42 }` matches an int or a string attribute. */
function hasAttributes(actual: Attributes, wanted: Attributes): boolean {
  return Object.entries(wanted).every(
    ([key, value]) => key in actual && String(actual[key]) === String(value),
  );
}
