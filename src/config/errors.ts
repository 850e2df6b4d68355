/** The one-line error of a bad configuration, and the pieces its messages are made of. */

export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  /** @param detail the problem, without the "config: " prefix; folded onto one line */
  constructor(detail: string, readonly key?: string) {
    super(`config: ${detail.replace(/\s*\n\s*/g, ' ')}`);
  }
}

const MAX_SHOWN = 80;

/** A value as JSON on one line, cut short if long. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Nested too deep for the stack (a file of 5000 "["): its start is what the user needs.
    text = Array.isArray(value) ? '[[[…' : '{…}';
  }
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}…`;
}

/** "; did you mean X?" for a near miss, otherwise the list of what is known. */
export function suggest(given: string, known: readonly string[], what: string): string {
  const normalize = (text: string): string => text.toLowerCase().replace(/[-_.]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(normalize(given), normalize(candidate));
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  if (best !== undefined && bestDistance <= 2) return `; did you mean ${best}?`;
  return `; the known ${what} are ${known.join(', ')}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
