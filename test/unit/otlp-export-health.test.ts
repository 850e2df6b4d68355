/**
 * The outcome accounting of OTLP pushes: counts by error.type, one log line when pushes start
 * failing and one when they recover, whatever the number of failed pushes in between.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExportResultCode } from '@opentelemetry/core';
import { OtlpExportHealth, errorTypeOf } from '../../src/export/otlp-export-health';

function grpcError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test('failures log once when they start (and once per other error) and once at recovery, with the counts between', () => {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  let clock = 1000;
  const health = new OtlpExportHealth(
    {
      warn: (fields, message) => lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
      info: (fields, message) => lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    },
    'http://127.0.0.1:1',
    () => clock,
  );
  health.record({ code: ExportResultCode.SUCCESS }, 10);
  assert.equal(lines.length, 0);
  for (let i = 0; i < 120; i++) {
    clock += 1000;
    health.record({ code: ExportResultCode.FAILED, error: grpcError(14, 'No connection established') }, 10);
  }
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 'warn');
  assert.match(lines[0]!.message, /^OTLP export failing;/);
  assert.deepEqual(lines[0]!.fields, { endpoint: 'http://127.0.0.1:1', errorType: 'UNAVAILABLE', error: 'No connection established' });
  health.record({ code: ExportResultCode.FAILED, error: new Error('Concurrent export limit reached') }, 10);
  health.record({ code: ExportResultCode.FAILED, error: grpcError(14, 'No connection established') }, 10);
  health.record({ code: ExportResultCode.FAILED, error: new Error('Concurrent export limit reached') }, 10);
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.message, 'OTLP export failing with another error');
  assert.equal(lines[1]!.fields.errorType, '_OTHER');
  clock += 500;
  health.record({ code: ExportResultCode.SUCCESS }, 12);
  health.record({ code: ExportResultCode.SUCCESS }, 12);
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.level, 'info');
  assert.equal(lines[2]!.message, 'OTLP export recovered');
  assert.deepEqual(
    { ...lines[2]!.fields },
    { endpoint: 'http://127.0.0.1:1', failedExports: 123, failedDataPoints: 1230, errorTypes: ['UNAVAILABLE', '_OTHER'], failingForMs: 119_500 },
  );
  // A new outage logs anew.
  health.record({ code: ExportResultCode.FAILED, error: grpcError(4, 'Deadline exceeded') }, 12);
  assert.equal(lines.length, 4);
  assert.match(lines[3]!.message, /^OTLP export failing;/);
  const stats = health.stats();
  assert.deepEqual([...stats.exports], [['', 3], ['UNAVAILABLE', 121], ['_OTHER', 2], ['DEADLINE_EXCEEDED', 1]]);
  assert.deepEqual([...stats.dataPoints], [['', 34], ['UNAVAILABLE', 1210], ['_OTHER', 20], ['DEADLINE_EXCEEDED', 12]]);
});

test('error.type is the gRPC status name, else _OTHER', () => {
  assert.equal(errorTypeOf(grpcError(16, 'missing header')), 'UNAUTHENTICATED');
  assert.equal(errorTypeOf(grpcError(4, 'Deadline exceeded')), 'DEADLINE_EXCEEDED');
  assert.equal(errorTypeOf(grpcError(99, 'future code')), '_OTHER');
  assert.equal(errorTypeOf(new Error('no code')), '_OTHER');
  assert.equal(errorTypeOf(undefined), '_OTHER');
});
