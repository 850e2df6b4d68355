/** Prometheus text for the bench's cross-checks: the deployment tests' parser, filtered by a predicate. */
import { parseExposition, type Sample } from '../../test/deploy/helpers/exposition';

export type { Sample };
export const parseSamples = parseExposition;

export function sumOf(samples: readonly Sample[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((sum, s) => sum + s.value, 0);
}
