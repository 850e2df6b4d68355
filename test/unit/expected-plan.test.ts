import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidatesFor } from '../../src/collector/attach-plan';
import { HOOKS } from '../../src/collector/hooks';
import {
  EXPECTED_PLANS,
  MATRIX_KERNELS,
  PROBE_MODES,
  matrixKernelOf,
  unavailableReason,
} from '../kernel-matrix/expected-plan';

const REQUIRED = HOOKS.filter((h) => h.required).map((h) => h.hook);

test('a release maps to its matrix kernel by major.minor; the host from 6.18 on; others to none', () => {
  assert.equal(matrixKernelOf('5.10.0-46-amd64'), '5.10');
  assert.equal(matrixKernelOf('6.1.0-56-amd64'), '6.1');
  assert.equal(matrixKernelOf('6.12.118+deb13-amd64'), '6.12');
  assert.equal(matrixKernelOf('6.18.44-fc-v669'), 'host');
  assert.equal(matrixKernelOf('6.19.0'), 'host');
  assert.equal(matrixKernelOf('7.0.1'), 'host');
  for (const other of ['6.6.0-1-amd64', '5.15.0', '6.10.3', '6.17.9', '4.19.0', 'linux', '']) {
    assert.equal(matrixKernelOf(other), undefined, other);
  }
});

test('the table gives every hook in every mode on every matrix kernel, and nothing else', () => {
  assert.deepEqual(Object.keys(EXPECTED_PLANS).sort(), [...MATRIX_KERNELS].sort());
  for (const kernel of MATRIX_KERNELS) {
    assert.deepEqual(Object.keys(EXPECTED_PLANS[kernel].modes).sort(), [...PROBE_MODES].sort(), kernel);
    for (const mode of PROBE_MODES) {
      assert.deepEqual(Object.keys(EXPECTED_PLANS[kernel].modes[mode]), HOOKS.map((h) => h.hook), `${kernel} ${mode}`);
    }
  }
});

test('every expected implementation is one the mode can pick for that hook (src/collector/attach-plan.ts)', () => {
  for (const kernel of MATRIX_KERNELS) {
    for (const mode of PROBE_MODES) {
      for (const spec of HOOKS) {
        const expected = EXPECTED_PLANS[kernel].modes[mode][spec.hook]!;
        if (expected === 'unavailable') continue;
        const candidates = candidatesFor(spec, mode).map((i) => i.implementation);
        assert.ok(candidates.includes(expected), `${kernel}, probes.mode=${mode}, ${spec.hook}: ${expected} is not among ${candidates.join(', ')}; update the table`);
      }
    }
  }
});

test('auto mode attaches every required hook on every matrix kernel', () => {
  for (const kernel of MATRIX_KERNELS) {
    for (const hook of REQUIRED) assert.notEqual(EXPECTED_PLANS[kernel].modes.auto[hook], 'unavailable', `${kernel} ${hook}`);
  }
});

test('a family marked unavailable anywhere on a kernel says why', () => {
  for (const kernel of MATRIX_KERNELS) {
    for (const mode of PROBE_MODES) {
      if (mode === 'auto') continue;
      const family = EXPECTED_PLANS[kernel].modes[mode];
      const forcedUnavailable = HOOKS.some((h) => family[h.hook] === 'unavailable');
      if (forcedUnavailable) assert.ok(EXPECTED_PLANS[kernel].unavailable[mode], `${kernel}: why ${mode} cannot attach`);
    }
  }
});

test('a test is unavailable when its hook is, or when a required hook of the same mode is', () => {
  assert.match(unavailableReason('host', 'kprobe', 'socket_send', REQUIRED)!, /socket_send cannot attach as kprobe on host: the host kernel has kprobes compiled out/);
  assert.match(
    unavailableReason('5.10', 'tracepoint', 'tcp_state', REQUIRED)!,
    /^with probes\.mode=tracepoint, required socket_send cannot attach as tracepoint on 5\.10: .*6\.3/,
  );
  assert.equal(unavailableReason('6.12', 'tracepoint', 'tcp_state', REQUIRED), undefined);
  assert.equal(unavailableReason('6.1', 'kprobe', 'tcp_state', REQUIRED), undefined);
  assert.equal(unavailableReason('host', 'auto', 'socket_recv', REQUIRED), undefined);
});
