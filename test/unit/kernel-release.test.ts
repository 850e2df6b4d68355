import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowMapsNeedPreallocation, ownerMapsNeedPreallocation } from '../../src/collector/kernel-release';

test('socket I/O maps are preallocated before 6.1 only', () => {
  assert.equal(flowMapsNeedPreallocation('5.10.0-35-amd64'), true);
  assert.equal(flowMapsNeedPreallocation('6.0.19'), true);
  assert.equal(flowMapsNeedPreallocation('6.1.0-56-amd64'), false);
  assert.equal(flowMapsNeedPreallocation('6.18.0'), false);
});

test('owner maps are preallocated only before 6.1 with the classic state tracepoint', () => {
  assert.equal(ownerMapsNeedPreallocation('tp_btf', '5.10.0-35-amd64'), false);
  assert.equal(ownerMapsNeedPreallocation('tracepoint', '5.10.0-35-amd64'), true);
  assert.equal(ownerMapsNeedPreallocation(undefined, '5.10.0-35-amd64'), true);
  assert.equal(ownerMapsNeedPreallocation('tracepoint', '6.1.0-56-amd64'), false);
  assert.equal(ownerMapsNeedPreallocation('tp_btf', '6.12.0'), false);
});
