/**
 * Go's duration text (time.ParseDuration), which the exporter toolkit's YAML uses for
 * rate_limit.interval: "1s", "500ms", "1m30s", "1.5h", "0".
 */

const NS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const WHOLE = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/** Milliseconds, or undefined for text Go would refuse. */
export function parseGoDurationMs(text: string): number | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  if (!WHOLE.test(text)) return undefined;
  let ns = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ns += Number(amount) * NS_PER_UNIT[unit!]!;
  const ms = (text.startsWith('-') ? -ns : ns) / 1e6;
  return Number.isFinite(ms) ? ms : undefined;
}
