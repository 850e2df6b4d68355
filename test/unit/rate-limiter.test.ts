/** The rate_limit token bucket on a clock the test moves, and Go's duration text. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDurationMs } from '../../src/export/go-duration';
import { TokenBucket } from '../../src/export/rate-limiter';

describe('token bucket', () => {
  test('starts full, gives out `burst` at once, then one token per interval, never more than burst', () => {
    let now = 1_000;
    const bucket = new TokenBucket({ intervalMs: 100, burst: 3 }, () => now);
    assert.deepEqual([1, 2, 3, 4].map(() => bucket.allow()), [true, true, true, false]);
    now += 99;
    assert.equal(bucket.allow(), false, 'not a whole token yet');
    now += 1;
    assert.deepEqual([bucket.allow(), bucket.allow()], [true, false]);
    now += 10_000;
    assert.deepEqual([1, 2, 3, 4].map(() => bucket.allow()), [true, true, true, false], 'a long pause refills only to burst');
  });

  test('a clock that goes back refills nothing', () => {
    let now = 5_000;
    const bucket = new TokenBucket({ intervalMs: 100, burst: 1 }, () => now);
    assert.equal(bucket.allow(), true);
    now -= 1_000;
    assert.equal(bucket.allow(), false);
    now += 1_100;
    assert.equal(bucket.allow(), true);
  });
});

describe('Go duration text', () => {
  test('the forms time.ParseDuration reads', () => {
    const cases: Array<[string, number]> = [
      ['0', 0], ['1s', 1_000], ['500ms', 500], ['1m30s', 90_000], ['1.5h', 5_400_000], ['100us', 0.1], ['2µs', 0.002], ['.5s', 500], ['+3m', 180_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseGoDurationMs(text), ms, text);
  });

  test('what Go refuses is undefined', () => {
    for (const text of ['', '1', '1 s', 's', '1d', '1.5.5s', '1sm', 'one second', '1e3s']) assert.equal(parseGoDurationMs(text), undefined, text);
    assert.equal(parseGoDurationMs('-1s'), -1_000, 'negative is a duration; web-config refuses it');
  });
});
