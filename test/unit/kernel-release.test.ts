import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowMapsNeedPreallocation, ownerMapsNeedPreallocation } from '../../src/collector/kernel-release';

test('socket I/O maps are preallocated before 6.1 only', () => {
  assert.equal(flowMapsNeedPreallocation('5.10.0-35-amd64'), true);
  assert.equal(flowMapsNeedPreallocation('6.0.19'), true);
  assert.equal(flowMapsNeedPreallocation('6.1.0-56-amd64'), false);
  assert.equal(flowMapsNeedPreallocation('6.18.0'), false);
});

test('owner maps follow the same rule', () => {
  for (const release of ['5.10.0-35-amd64', '6.0.19', '6.1.0-56-amd64', '6.18.0']) {
    assert.equal(ownerMapsNeedPreallocation(release), flowMapsNeedPreallocation(release));
  }
});
