import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLoopbackPort } from './free-port';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

export interface PrometheusServerOptions {
  /** Scrape targets as `host:port`; loopback only (127.0.0.1, [::1], localhost). */
  targets: string[];
  metricsPath?: string;
  scrapeIntervalSeconds?: number;
  jobName?: string;
  binary?: string;
  startTimeoutMs?: number;
  /** More keys of the scrape config, e.g. scheme, tls_config, basic_auth. */
  scrapeSettings?: Record<string, unknown>;
  /** More jobs over the same targets, each with its own settings (job_name is the key). */
  extraJobs?: Record<string, Record<string, unknown>>;
  /** Rule files (absolute paths) evaluated every scrape interval. */
  ruleFiles?: string[];
}

/** One element of an instant-vector result, with the sample value parsed. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

const MAX_STDERR_CHARS = 64 * 1024;
const LOOPBACK_TARGET = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$/;

/** A real Prometheus server on 127.0.0.1 with a throwaway config and TSDB. */
export class PrometheusServer {
  private stderrText = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly killOnExit = (): void => {
    this.child.kill('SIGKILL');
  };

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrText = (this.stderrText + chunk).slice(-MAX_STDERR_CHARS);
    });
    child.on('exit', (code, signal) => {
      this.exited = { code, signal };
    });
    process.once('exit', this.killOnExit);
  }

  static async start(options: PrometheusServerOptions): Promise<PrometheusServer> {
    for (const target of options.targets) {
      if (!LOOPBACK_TARGET.test(target)) {
        throw new Error(`refusing non-loopback scrape target ${JSON.stringify(target)}`);
      }
    }
    // The free port can be taken between probing and Prometheus binding it; retry then.
    for (let attempt = 1; ; attempt++) {
      const server = await PrometheusServer.launch(options);
      try {
        await server.waitUntilReady(options.startTimeoutMs ?? 30_000);
        return server;
      } catch (error) {
        const portTaken = server.stderr.includes('address already in use');
        await server.stop();
        if (!portTaken || attempt === 3) throw error;
      }
    }
  }

  private static async launch(options: PrometheusServerOptions): Promise<PrometheusServer> {
    const port = await freeLoopbackPort('127.0.0.1');
    const dir = await mkdtemp(join(tmpdir(), 'sockscope-prom-'));
    const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
    // JSON is valid YAML, so the config needs no YAML writer.
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      ...(options.ruleFiles ? { rule_files: options.ruleFiles } : {}),
      scrape_configs: [
        [options.jobName ?? 'sockscope', options.scrapeSettings ?? {}] as const,
        ...Object.entries(options.extraJobs ?? {}),
      ].map(([jobName, settings]) => ({
        job_name: jobName,
        metrics_path: options.metricsPath ?? '/metrics',
        static_configs: [{ targets: options.targets }],
        ...settings,
      })),
    };
    const configFile = join(dir, 'prometheus.yml');
    await writeFile(configFile, JSON.stringify(config, null, 2));
    const child = spawn(
      options.binary ?? PROMETHEUS_BINARY,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=info',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const server = new PrometheusServer(child, port, dir);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything Prometheus wrote to stderr so far (last 64 KiB). */
  get stderr(): string {
    return this.stderrText;
  }

  /** Runs an instant query; scalar results come back as one sample without labels. */
  async query(promql: string): Promise<PromSample[]> {
    const { status, body } = await httpGet(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const parsed = JSON.parse(body) as QueryResponse;
    if (status !== 200 || parsed.status !== 'success' || parsed.data === undefined) {
      throw new Error(`query ${promql} failed (HTTP ${status}): ${body}`);
    }
    const { resultType, result } = parsed.data;
    if (resultType === 'scalar') {
      const [, value] = result as [number, string];
      return [{ metric: {}, value: Number(value) }];
    }
    if (resultType !== 'vector') {
      throw new Error(`query ${promql} returned a ${resultType}, expected an instant vector`);
    }
    return (result as VectorElement[]).map((element) => ({
      metric: element.metric,
      value: Number(element.value[1]),
    }));
  }

  /**
   * Polls `promql` until `predicate` holds and returns that result. A timeout
   * rejects with the last result, so the test fails with evidence.
   */
  async waitForQuery(
    promql: string,
    predicate: (samples: PromSample[]) => boolean,
    timeoutMs = 30_000,
  ): Promise<PromSample[]> {
    const deadline = Date.now() + timeoutMs;
    let last: PromSample[] | Error = [];
    for (;;) {
      try {
        last = await this.query(promql);
        if (predicate(last)) return last;
      } catch (error) {
        last = error as Error;
      }
      if (Date.now() >= deadline) {
        const lastText = last instanceof Error ? last.message : JSON.stringify(last);
        throw new Error(
          `waitForQuery(${promql}) timed out after ${timeoutMs} ms; last result: ${lastText}\n` +
            `prometheus stderr:\n${this.stderr}`,
        );
      }
      this.assertRunning();
      await sleep(250);
    }
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    if (this.exited === undefined && this.child.exitCode === null) {
      const exit = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const killTimer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(killTimer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = 'no answer yet';
    while (Date.now() < deadline) {
      this.assertRunning();
      try {
        const { status, body } = await httpGet(`${this.url}/-/ready`);
        if (status === 200) return;
        lastProblem = `HTTP ${status}: ${body.trim()}`;
      } catch (error) {
        lastProblem = (error as Error).message;
      }
      await sleep(100);
    }
    throw new Error(
      `prometheus not ready after ${timeoutMs} ms (${lastProblem})\nprometheus stderr:\n${this.stderr}`,
    );
  }

  private assertRunning(): void {
    if (this.exited !== undefined) {
      const { code, signal } = this.exited;
      throw new Error(`prometheus exited (code ${code}, signal ${signal})\nprometheus stderr:\n${this.stderr}`);
    }
  }
}

export function prometheusInstalled(binary = PROMETHEUS_BINARY): boolean {
  return existsSync(binary);
}

interface VectorElement {
  metric: Record<string, string>;
  value: [number, string];
}

interface QueryResponse {
  status: string;
  data?: { resultType: string; result: unknown };
  error?: string;
}

/** node:http rather than fetch, so proxy settings in the environment never apply. */
function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: 5_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}
