/**
 * Text forms of the two quantities the settings use: durations ("500ms", "10s", "1m") and
 * byte sizes ("16MiB", "4096KiB"). Parsers return undefined for anything they cannot read, so
 * the caller can report the text verbatim.
 */

const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

// Binary (IEC) units only: "MB" is ambiguous between 10^6 and 2^20, so it is refused.
const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** "500ms" -> 500, "10s" -> 10000, "1m" -> 60000, "2h", or bare digits as milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (match === null) return undefined;
  return scale(match[1]!, MS_PER_UNIT[match[2] ?? 'ms']!);
}

/** "16MiB" -> 16777216, "4096KiB", "1GiB", "4096B", or bare digits as bytes. Units ignore case. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+)(B|KiB|MiB|GiB)?$/i.exec(text);
  if (match === null) return undefined;
  return scale(match[1]!, BYTES_PER_UNIT[(match[2] ?? 'b').toLowerCase()]!);
}

/** The shortest exact form: 10000 -> "10s", 1500 -> "1500ms". */
export function formatDurationMs(ms: number): string {
  return formatExact(ms, [['h', 3_600_000], ['m', 60_000], ['s', 1_000]], 'ms');
}

/** The shortest exact form: 16777216 -> "16MiB", 6144 -> "6KiB", 100 -> "100B". */
export function formatByteSize(bytes: number): string {
  return formatExact(bytes, [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]], 'B');
}

function scale(digits: string, factor: number): number | undefined {
  const value = Number(digits) * factor;
  return Number.isSafeInteger(value) ? value : undefined;
}

function formatExact(value: number, units: ReadonlyArray<[string, number]>, baseUnit: string): string {
  for (const [unit, size] of units) {
    if (value !== 0 && value % size === 0) return `${value / size}${unit}`;
  }
  return `${value}${baseUnit}`;
}
