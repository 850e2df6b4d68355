import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashMapsNeedPreallocation } from '../../src/collector/kernel-release';

test('hash maps are preallocated before 6.1 only', () => {
  assert.equal(hashMapsNeedPreallocation('5.10.0-35-amd64'), true);
  assert.equal(hashMapsNeedPreallocation('6.0.19'), true);
  assert.equal(hashMapsNeedPreallocation('6.1.0-56-amd64'), false);
  assert.equal(hashMapsNeedPreallocation('6.18.0'), false);
});
