/** How `sockscope top` writes numbers in a fixed-width cell: three significant digits and a unit. */

const IEC_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 0 -> "0 B", 1536 -> "1.50 KiB", 3145728 -> "3.00 MiB"; IEC units as the settings use them. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < IEC_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Whole bytes stay whole: "512 B", not "512.00 B".
  return unit === 0 ? `${Math.round(value)} B` : `${threeDigits(value)} ${IEC_UNITS[unit]}`;
}

export function formatBytesPerSecond(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Events per second: "0", "0.33", "12.0", "1.20k". */
export function formatPerSecond(perSecond: number): string {
  if (perSecond === 0) return '0';
  if (Math.abs(perSecond) >= 1000) return `${threeDigits(perSecond / 1000)}k`;
  return threeDigits(perSecond);
}

/** RTT: "-" when there were no samples, else µs, ms or s. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 1e-3) return `${threeDigits(seconds * 1e6)} µs`;
  if (seconds < 1) return `${threeDigits(seconds * 1e3)} ms`;
  return `${threeDigits(seconds)} s`;
}

export function formatCount(count: number): string {
  return String(count);
}

/** 1.5 -> "1.50", 12.34 -> "12.3", 123.4 -> "123". */
function threeDigits(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
