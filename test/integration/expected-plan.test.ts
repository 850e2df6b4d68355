/**
 * The real attach plan of every probe mode on this kernel is the one the matrix table
 * (test/kernel-matrix/expected-plan.ts) gives: what it marks unavailable indeed does not
 * attach, so the per-mode suites skip only what truly cannot run, and what it says attaches does.
 */
import { describe, test } from 'node:test';
import { HOOKS } from '../../src/collector/hooks';
import { PROBE_MODES } from '../kernel-matrix/expected-plan';
import { bpfTestOptions, inCi } from '../helpers/bpf-gate';
import { assertModeAttaches } from '../helpers/probe-modes';

describe('the attach plan matches test/kernel-matrix/expected-plan.ts', bpfTestOptions(), () => {
  for (const mode of PROBE_MODES) {
    // The table describes the CI machines (the matrix kernels), so only CI=true holds a kernel to it.
    const skip = inCi() ? false : 'the table is checked with CI=true, on the matrix kernels';
    test(`${mode} mode: every hook gets the implementation the table gives, or none where it says unavailable`, { skip }, () => {
      assertModeAttaches(mode, HOOKS.map((h) => h.hook));
    });
  }
});
