/** Start-up steps shared by `sockscope run` and `sockscope events`. */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { BpfCollector, type BpfCollectorOptions } from './collector/bpf-collector';
import { bootstrapTcpSockets, type BootstrapResult } from './collector/proc-sockets';
import type { Config } from './config/schema';
import type { Logger } from './log';

/** Flows the native table may hold between two ingests. */
const NATIVE_MAX_FLOWS = 65536;

export function collectorOptions(config: Config): BpfCollectorOptions {
  return {
    mode: config.probes.mode,
    ringBufferSize: config.ebpf.ringBufferSize,
    drainIntervalMillis: config.ebpf.drainInterval,
    maxFlows: NATIVE_MAX_FLOWS,
  };
}

/** Attaches the probes, then reads /proc: a connection opened in between is seen by both, not by neither. */
export function startCollector(config: Config, log: Logger): { collector: BpfCollector; bootstrap: BootstrapResult } {
  const collector = BpfCollector.start(collectorOptions(config));
  for (const hook of collector.plan.hooks) {
    log.info({ hook: hook.hook, implementation: hook.chosen ?? 'none', failures: hook.failures }, 'probe attached');
  }
  const bootstrap = bootstrapTcpSockets();
  log.info(
    { sockets: bootstrap.sockets.length, unreadableProcesses: bootstrap.unreadableProcesses },
    'read existing TCP sockets from /proc',
  );
  return { collector, bootstrap };
}

/** OTLP export failures surface only through OTel's diag logger: make them visible. */
export function routeOtelDiagnostics(log: Logger): void {
  diag.setLogger(
    {
      error: (msg, ...args) => log.error({ args }, `opentelemetry: ${msg}`),
      warn: (msg, ...args) => log.warn({ args }, `opentelemetry: ${msg}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
}

export function waitForTermination(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
