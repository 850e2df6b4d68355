import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttributePolicy } from '../../src/metrics/attribute-policy';
import { METRICS, NETWORK_IO } from '../../src/metrics/definitions';
import { seriesKey } from '../../src/metrics/series-store';

test('keyOf is the series key of the selected attributes, without building them', () => {
  const policy = new AttributePolicy(METRICS, { [NETWORK_IO.name]: ['process.executable.name', 'network.transport', 'server.port', 'network.io.direction'] });
  const candidates = {
    'network.transport': 'tcp',
    'network.io.direction': 'transmit',
    'process.executable.name': 'curl',
    'server.port': 443,
    'network.type': 'ipv4', // not selected
  };
  assert.equal(policy.keyOf(NETWORK_IO.name, candidates), seriesKey(policy.select(NETWORK_IO.name, candidates)));
  // Missing and empty values are left out by both.
  const sparse = { 'network.transport': 'udp', 'process.executable.name': '' };
  assert.equal(policy.keyOf(NETWORK_IO.name, sparse), seriesKey(policy.select(NETWORK_IO.name, sparse)));
  assert.notEqual(policy.keyOf(NETWORK_IO.name, sparse), policy.keyOf(NETWORK_IO.name, candidates));
});
