import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Interner } from '../../src/metrics/interner';

test('equal keys give the first instance; a full interner starts over', () => {
  const interner = new Interner<object>(2);
  const first = { a: 1 };
  assert.equal(interner.intern('a', first), first);
  assert.equal(interner.intern('a', { a: 1 }), first);
  interner.intern('b', {});
  const later = { a: 1 };
  interner.intern('c', {}); // full: starts over
  assert.equal(interner.intern('a', later), later);
  assert.ok(interner.size <= 2);
});
