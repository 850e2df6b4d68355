/**
 * OTLP headers as the OTel environment conventions write them (OTEL_EXPORTER_OTLP_HEADERS):
 * `key=value` pairs separated by commas, values percent-encoded. Newlines separate pairs too,
 * so a headers file can hold one per line. Checked strictly here, because gRPC would otherwise
 * refuse a bad key on every push instead of once at start-up.
 */

/** A gRPC metadata key: gRPC lowercases keys and allows only these characters. */
const METADATA_KEY = /^[0-9a-z_.-]+$/;
/** A gRPC text metadata value: printable ASCII. */
const METADATA_VALUE = /^[ -~]*$/;

/** The headers in `text`, in order; throws an Error naming the first bad pair. */
export function parseOtlpHeaders(text: string): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  for (const member of text.split(/[,\n]/)) {
    const pair = member.trim();
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    // The pair itself may be a secret: name only the key.
    if (equals < 1) throw new Error(`a header is not key=value (pair ${headers.length + 1})`);
    const key = pair.slice(0, equals).trim().toLowerCase();
    if (!METADATA_KEY.test(key)) throw new Error(`header key "${key}" may hold only letters, digits, "-", "_" and "."`);
    if (key.endsWith('-bin')) throw new Error(`header key "${key}" is binary metadata ("-bin"), which OTLP headers cannot carry`);
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(equals + 1).trim());
    } catch {
      throw new Error(`header "${key}" has a bad percent-encoding`);
    }
    if (!METADATA_VALUE.test(value)) throw new Error(`header "${key}" may hold only printable ASCII`);
    headers.push([key, value]);
  }
  return headers;
}

/** The problem with `text` as OTLP headers, or undefined. */
export function otlpHeadersProblem(text: string): string | undefined {
  try {
    parseOtlpHeaders(text);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
