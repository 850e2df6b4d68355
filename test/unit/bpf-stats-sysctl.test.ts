import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bpfStatsEnabled } from '../../src/collector/bpf-stats-sysctl';

test('bpf_stats_enabled: on for a non-zero value, off for 0 or a kernel without the sysctl', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpf-stats-'));
  const file = path.join(dir, 'bpf_stats_enabled');
  writeFileSync(file, '1\n');
  assert.equal(bpfStatsEnabled(file), true);
  writeFileSync(file, '0\n');
  assert.equal(bpfStatsEnabled(file), false);
  assert.equal(bpfStatsEnabled(path.join(dir, 'missing')), false);
});
