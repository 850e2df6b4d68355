/**
 * Quantiles from explicit-bucket histogram counts, the way Prometheus'
 * histogram_quantile() estimates them: linear within the bucket the rank falls in,
 * the first bucket starting at 0, and the highest finite boundary for the +Inf bucket.
 */
export function bucketQuantile(q: number, boundaries: readonly number[], counts: ArrayLike<number>): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total <= 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (count > 0 && below + count >= rank) {
      if (i >= boundaries.length) return boundaries[boundaries.length - 1] ?? null;
      const lower = i === 0 ? 0 : boundaries[i - 1]!;
      const upper = boundaries[i]!;
      return lower + (upper - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return boundaries[boundaries.length - 1] ?? null;
}
