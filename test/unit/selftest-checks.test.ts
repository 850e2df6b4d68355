/** The self-test's verdicts from MetricData: sums by attributes, histogram counts, and what NOT RUN means for the exit status. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { emptyResource } from '@opentelemetry/resources';
import { atLeast, exactly, exitStatus, notRun, total } from '../../src/selftest/checks';
import { renderSelftestText } from '../../src/selftest/report';

const T: [number, number] = [0, 0];
const point = (attributes: Record<string, string>, value: unknown) => ({ attributes, value, startTime: T, endTime: T });
const metrics = {
  resource: emptyResource(),
  scopeMetrics: [
    {
      scope: { name: 'sockscope' },
      metrics: [
        {
          descriptor: { name: 'io' },
          dataPointType: DataPointType.SUM,
          dataPoints: [point({ p: 'a', d: 'tx' }, 5), point({ p: 'a', d: 'rx' }, 7), point({ p: 'b', d: 'tx' }, 11)],
        },
        { descriptor: { name: 'rtt' }, dataPointType: DataPointType.HISTOGRAM, dataPoints: [point({ p: 'a' }, { count: 3, sum: 1 })] },
      ],
    },
  ],
} as unknown as ResourceMetrics;

test('total sums the points whose attributes include the match, and counts histogram samples', () => {
  assert.equal(total(metrics, 'io', { p: 'a' }), 12);
  assert.equal(total(metrics, 'io', { d: 'tx' }), 16);
  assert.equal(total(metrics, 'io', { p: 'c' }), 0);
  assert.equal(total(metrics, 'rtt', { p: 'a' }), 3);
});

test('a failed check makes the status 1; a check that did not run does not', () => {
  assert.equal(exitStatus([exactly('x', 3, 3), atLeast('y', 1, 2), notRun('z', 'nft is not installed')]), 0);
  assert.equal(exitStatus([exactly('x', 3, 3), exactly('y', 4, 3)]), 1);
  assert.equal(exitStatus([atLeast('y', 1, 0)]), 1);
});

test('the text report is a table with a verdict per check, a summary and the attach plan', () => {
  const text = renderSelftestText({
    kernel: '6.1.0',
    mode: 'auto',
    status: 1,
    plan: [{ hook: 'socket_send', required: true, chosen: 'fentry', attached: true, failures: [] }],
    checks: [exactly('bytes', 10, 9), notRun('retransmits', 'nft is not installed')],
  });
  assert.equal(
    text,
    [
      'check        expected                  seen  result',
      'bytes              10                     9  FAIL',
      'retransmits         -  nft is not installed  NOT RUN',
      '',
      '0 passed, 1 failed, 1 not run',
      '',
      'attach plan (kernel 6.1.0, probes.mode=auto):',
      '  socket_send      -> fentry',
      '',
    ].join('\n'),
  );
});
