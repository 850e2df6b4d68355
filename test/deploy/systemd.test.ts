/**
 * deploy/systemd: systemd-analyze accepts the unit; install.sh stages a complete tree; and
 * the daemon from that tree, started the way the unit starts it (an unprivileged user with
 * exactly the unit's ambient capabilities, no_new_privs), attaches, counts traffic, and
 * drops its capabilities. There is no systemd PID 1 here, so setpriv stands in for it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';
import { runtimeCapabilities, readKernelFacts, readThreadCapabilities, capabilitiesInMask } from '../../src/privileges';
import { NODE_FLAGS } from '../../src/runtime-settings';
import { loadConfig } from '../../src/config/load';
import { parseOtlpHeaders } from '../../src/config/otlp-headers';
import { SETTINGS } from '../../src/config/schema';
import { TestCa } from '../helpers/test-ca';
import { DOCUMENTED_CAPABILITIES } from './helpers/kubernetes-shapes';
import { LoggedProcess, type LogLine } from './helpers/logged-process';
import { parseExposition, sumOf } from './helpers/exposition';
import { repoPath } from './helpers/paths';
import { requireTools, run, runOk, toolTestOptions } from './helpers/tools';

const UNIT = repoPath('deploy', 'systemd', 'sockscope.service');
const OTLP_DROP_IN = repoPath('deploy', 'systemd', 'otlp-credentials.conf');
const TOOLS = ['systemd-analyze', 'setpriv', 'npm'];
/** An unprivileged uid for the service (DynamicUser allocates one like it). */
const SERVICE_UID = 65534;

/** The [Service] settings of a unit file; repeated keys keep every value. */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
  }
  return settings;
}

const settings = unitSettings(readFileSync(UNIT, 'utf8'));
const one = (key: string) => settings.get(key)?.join(' ');
const unitCapabilities = (one('AmbientCapabilities') ?? '').split(/\s+/).filter(Boolean);

describe('systemd unit', toolTestOptions(TOOLS), () => {
  before(() => requireTools(TOOLS));

  test('systemd-analyze verify accepts it without a warning', async () => {
    const result = await run('systemd-analyze', ['verify', UNIT]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr.trim(), '');
  });

  test('systemd-analyze security rates its exposure OK (at most 3.0 of 10)', async () => {
    const result = await runOk('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT]);
    const score = Number(/Overall exposure level for sockscope\.service: ([0-9.]+)/.exec(result.stdout)?.[1]);
    assert.ok(score <= 3.0, `exposure ${score}`);
  });

  test('the documented capabilities, ambient and bounding, for an unprivileged dynamic user', () => {
    assert.deepEqual(unitCapabilities, DOCUMENTED_CAPABILITIES.map((c) => `CAP_${c}`));
    assert.equal(one('CapabilityBoundingSet'), one('AmbientCapabilities'));
    assert.equal(one('DynamicUser'), 'yes');
    assert.equal(settings.get('User'), undefined);
  });

  test('hardening: read-only system, no home, private tmp, no new privileges, address families, bpf allowed', () => {
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('ProtectHome'), 'yes');
    assert.equal(one('PrivateTmp'), 'yes');
    assert.equal(one('RestrictAddressFamilies'), 'AF_UNIX AF_INET AF_INET6 AF_NETLINK');
    const filters = settings.get('SystemCallFilter') ?? [];
    assert.match(filters[0] ?? '', /^@system-service bpf perf_event_open$/);
    assert.ok(filters.slice(1).every((f) => f.startsWith('~')), 'later filters only take away');
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('EnvironmentFile'), '-/etc/sockscope/sockscope.env');
    assert.equal(settings.get('MemoryDenyWriteExecute'), undefined, "V8's JIT needs W+X memory");
  });
});

describe('systemd OTLP credentials drop-in', toolTestOptions(TOOLS), () => {
  const dropIn = unitSettings(readFileSync(OTLP_DROP_IN, 'utf8'));
  const credentials = new Map((dropIn.get('LoadCredential') ?? []).map((c) => c.split(':') as [string, string]));
  const environment = new Map((dropIn.get('Environment') ?? []).map((e) => e.split('=') as [string, string]));

  before(() => requireTools(TOOLS));

  test('systemd-analyze verify accepts the unit with the drop-in in its sockscope.service.d', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sockscope-dropin-'));
    try {
      copyFileSync(UNIT, path.join(dir, 'sockscope.service'));
      mkdirSync(path.join(dir, 'sockscope.service.d'));
      copyFileSync(OTLP_DROP_IN, path.join(dir, 'sockscope.service.d', 'otlp-credentials.conf'));
      const result = await run('systemd-analyze', ['verify', path.join(dir, 'sockscope.service')]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr.trim(), '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('each OTLP file setting reads a credential from %d, loaded from a root-only path', () => {
    const fileSettings = SETTINGS.filter((s) => s.key.startsWith('otlp.') && s.key.endsWith('File'));
    assert.deepEqual([...environment.keys()].sort(), fileSettings.map((s) => s.env).sort());
    for (const [name, value] of environment) {
      const id = /^%d\/(.+)$/.exec(value)?.[1];
      assert.ok(id !== undefined && credentials.has(id), `${name}=${value} names no LoadCredential`);
      assert.match(credentials.get(id)!, /^\/etc\/sockscope\/credentials\/[^/]+$/);
    }
    assert.equal(credentials.size, environment.size);
  });

  test('with the credentials directory in place of %d, sockscope loads the four settings and the headers', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sockscope-credentials-'));
    try {
      const ca = new TestCa(dir, 'ca');
      const client = ca.issue('client', ['DNS:sockscope'], 'clientAuth');
      const credentialsDir = path.join(dir, 'credentials');
      mkdirSync(credentialsDir, { mode: 0o700 });
      const contents: Record<string, string> = {
        'otlp-headers': 'authorization=Bearer%20s3cret\n',
        'otlp-ca.crt': readFileSync(ca.cert, 'utf8'),
        'otlp-client.crt': readFileSync(client.cert, 'utf8'),
        'otlp-client.key': readFileSync(client.key, 'utf8'),
      };
      for (const id of credentials.keys()) writeFileSync(path.join(credentialsDir, id), contents[id]!, { mode: 0o400 });
      const env = Object.fromEntries([...environment].map(([name, value]) => [name, value.replace('%d', credentialsDir)]));
      const config = loadConfig({ argv: [], env });
      assert.deepEqual(parseOtlpHeaders(readFileSync(config.otlp.headersFile, 'utf8')), [['authorization', 'Bearer s3cret']]);
      assert.equal(readFileSync(config.otlp.keyFile, 'utf8'), contents['otlp-client.key']);
      assert.equal(readFileSync(config.otlp.caFile, 'utf8'), contents['otlp-ca.crt']);
      assert.equal(readFileSync(config.otlp.certFile, 'utf8'), contents['otlp-client.crt']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Staging needs no BPF and runs anywhere the tools are; the two runs of the daemon are BPF-gated.
describe('systemd install and run with the unit capability set', toolTestOptions(TOOLS), () => {
  let root: string;
  let app: string;

  before(async () => {
    requireTools(TOOLS);
    root = mkdtempSync(path.join(os.tmpdir(), 'sockscope-systemd-'));
    // The service user must be able to read the staged tree.
    chmodSync(root, 0o755);
    await runOk('bash', [repoPath('deploy', 'systemd', 'install.sh'), '--no-start'], {
      env: { ...process.env, DESTDIR: root },
      timeoutMs: 300_000,
    });
    app = path.join(root, 'opt', 'sockscope');
  });

  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('install.sh stages the daemon, production dependencies only, the unit, the config and env files', async () => {
    for (const file of ['dist/src/cli.js', 'addon/build/Release/sockscope.node', 'package.json', 'node_modules/pino/package.json']) {
      assert.ok(existsSync(path.join(app, file)), file);
    }
    assert.equal(existsSync(path.join(app, 'node_modules', 'typescript')), false, 'no dev dependencies');
    const unit = readFileSync(path.join(root, 'etc', 'systemd', 'system', 'sockscope.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} ${NODE_FLAGS.join(' ')} /opt/sockscope/dist/src/cli\\.js run --config /etc/sockscope/sockscope\\.yaml$`, 'm'));
    for (const file of ['sockscope.env', 'sockscope.yaml', 'web-config.example.yml', 'otlp-credentials.conf']) {
      assert.ok(existsSync(path.join(root, 'etc', 'sockscope', file)), file);
    }
    // Secrets: the env file and the credentials directory are root's alone.
    assert.equal(statSync(path.join(root, 'etc', 'sockscope', 'sockscope.env')).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(root, 'etc', 'sockscope', 'credentials')).mode & 0o777, 0o700);
    const verify = await run('systemd-analyze', ['verify', path.join(root, 'etc', 'systemd', 'system', 'sockscope.service')]);
    assert.equal(verify.code, 0, verify.stderr);
  });

  /** The staged daemon as the unit runs it: uid SERVICE_UID, ambient = bounding = caps, no_new_privs. */
  function startAsService(caps: readonly string[]): LoggedProcess {
    const list = caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',');
    return LoggedProcess.start('setpriv', [
      `--reuid=${SERVICE_UID}`, `--regid=${SERVICE_UID}`, '--clear-groups',
      `--inh-caps=-all${list ? `,${list}` : ''}`, `--ambient-caps=${list || '-all'}`, `--bounding-set=-all${list ? `,${list}` : ''}`,
      '--no-new-privs', '--',
      process.execPath, path.join(app, 'dist', 'src', 'cli.js'), 'run', '--prometheus.host', '127.0.0.1', '--prometheus.port', '0',
    ]);
  }

  test('attaches, counts traffic exactly, keeps only the run-time capabilities, stops cleanly', bpfTestOptions(), async () => {
    requireBpf();
    const daemon = startAsService(unitCapabilities);
    try {
      const serving = await daemon.waitForLog('serving Prometheus metrics on /metrics');
      const dropped = await daemon.waitForLog('capabilities dropped', 5_000);
      const expectedKept = runtimeCapabilities(readKernelFacts());
      assert.deepEqual(dropped.kept, expectedKept);
      for (const t of readThreadCapabilities(daemon.pid)) {
        if ((dropped.unreachableThreads as number[]).includes(t.tid)) continue;
        assert.deepEqual(capabilitiesInMask(t.effective), expectedKept, `thread ${t.tid}`);
        assert.deepEqual(capabilitiesInMask(t.ambient), [], `thread ${t.tid}`);
      }

      const name = uniqueProcessName('sssystemd');
      const traffic = await runTraffic({ name, transport: 'tcp', family: 'ipv4', messageSize: 2048, messages: 32 });
      const url = `http://127.0.0.1:${serving.port as number}/metrics`;
      const want = { tx: traffic.tcp.ipv4.tx, rx: traffic.tcp.ipv4.rx };
      let got = { tx: 0, rx: 0 };
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
        const samples = parseExposition(await (await fetch(url)).text());
        const labels = { process_executable_name: name, network_transport: 'tcp', network_type: 'ipv4' };
        got = {
          tx: sumOf(samples, 'sockscope_network_io_bytes_total', { ...labels, network_io_direction: 'transmit' }),
          rx: sumOf(samples, 'sockscope_network_io_bytes_total', { ...labels, network_io_direction: 'receive' }),
        };
        if (got.tx === want.tx && got.rx === want.rx) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(got, want);
      assert.equal((await fetch(url.replace('/metrics', '/readyz'))).status, 200);
    } finally {
      assert.equal(await daemon.stop('SIGTERM'), 0, daemon.output.slice(-3000));
    }
    assert.ok(daemon.logs.some((l) => l.msg === 'probes detached'));
  });

  test('without CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH the start-up /proc walk reads fewer processes', bpfTestOptions(), async () => {
    requireBpf();
    const walked = async (caps: readonly string[]): Promise<LogLine> => {
      const daemon = startAsService(caps);
      try {
        return await daemon.waitForLog('read existing TCP sockets from /proc');
      } finally {
        await daemon.stop('SIGTERM');
      }
    };
    const full = await walked(unitCapabilities);
    const reduced = await walked(unitCapabilities.filter((c) => c !== 'CAP_SYS_PTRACE' && c !== 'CAP_DAC_READ_SEARCH'));
    assert.ok(
      (reduced.unreadableProcesses as number) > (full.unreadableProcesses as number),
      `unreadable with all four: ${full.unreadableProcesses}, without the two: ${reduced.unreadableProcesses}`,
    );
  });
});
