/**
 * The collector-down fault at bench length (10 minutes; the CI test runs 2): the real gRPC
 * receiver stopped under steady traffic, then back. test/faults/collector-down-scenario.ts
 * does the run; this keeps the figures for docs/performance.md.
 */
import { runCollectorDown, type CollectorDownResult } from '../../test/faults/collector-down-scenario';

export type CollectorDownFigures = Omit<CollectorDownResult, 'outageLogLines' | 'recoveryLog'> & {
  /** Lines the daemon logged during the outage, and the messages of those about OTLP. */
  outageLogLineCount: number;
  otlpLogMessages: string[];
  recoveryLog?: { failedExports: unknown; failedDataPoints: unknown; errorTypes: unknown; failingForMs: unknown };
  exact: boolean;
};

export async function measureCollectorDown(options: { outageMs: number; log: (line: string) => void }): Promise<CollectorDownFigures> {
  const { outageLogLines, recoveryLog, ...result } = await runCollectorDown({ outageMs: options.outageMs, intervalMs: 2000, warmupMs: 30_000, log: options.log });
  return {
    ...result,
    outageLogLineCount: outageLogLines.length,
    otlpLogMessages: outageLogLines.filter((l) => l.msg?.includes('OTLP')).map((l) => `${l.msg} (${String(l.errorType)})`),
    recoveryLog: recoveryLog && {
      failedExports: recoveryLog.failedExports,
      failedDataPoints: recoveryLog.failedDataPoints,
      errorTypes: recoveryLog.errorTypes,
      failingForMs: recoveryLog.failingForMs,
    },
    exact: result.received.tx === result.sent.tx && result.received.rx === result.sent.rx,
  };
}
