/**
 * The web configuration file of the Prometheus exporter toolkit (the node_exporter family's
 * --web.config.file), read unchanged: tls_server_config, http_server_config and
 * basic_auth_users. Turns the file into what Node's TLS server and the basic-auth check take,
 * and any problem into one WebConfigError naming the file, the key and the line.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { parseYaml, YamlSyntaxError } from '../config/yaml-text';
import { parseGoDurationMs } from './go-duration';
import { goCipherSuites, goCurves, goTlsVersion, TLS_VERSIONS } from './go-tls-names';
import type { RateLimit } from './rate-limiter';

export class WebConfigError extends Error {
  override readonly name = 'WebConfigError';
}

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface TlsPolicy {
  /** For tls.createServer / setSecureContext: certificate, key, client CAs, versions, ciphers. */
  context: SecureContextOptions;
  clientAuth: ClientAuthType;
  /** Subject alternative names one of which a client certificate must carry, as "DNS:x", "IP Address:y", …; empty: any. */
  allowedSans: readonly string[];
}

export interface WebConfig {
  /** Undefined: plain HTTP. */
  tls: TlsPolicy | undefined;
  /** User name -> bcrypt hash; empty: no authentication. */
  users: ReadonlyMap<string, string>;
  /** Added to every response. */
  headers: Readonly<Record<string, string>>;
  /** One token bucket for the whole server; undefined: no limit. */
  rateLimit: RateLimit | undefined;
  /** Every file the configuration was read from: a change to any of them means reading it again. */
  files: readonly string[];
}

// The headers the toolkit lets a user add, with the values it accepts where it restricts them.
const HEADERS: ReadonlyMap<string, readonly string[] | undefined> = new Map([
  ['content-security-policy', undefined],
  ['x-frame-options', ['deny', 'sameorigin']],
  ['x-content-type-options', ['nosniff']],
  ['x-xss-protection', undefined],
  ['strict-transport-security', undefined],
]);

const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/** Reads the file and every file it names; throws WebConfigError. */
export function readWebConfig(path: string): WebConfig {
  const file = new FileReader(path);
  let parsed;
  try {
    parsed = parseYaml(file.read(path));
  } catch (err) {
    if (err instanceof YamlSyntaxError) throw new WebConfigError(`web config ${JSON.stringify(path)} is not valid YAML: ${err.message}`);
    throw err;
  }
  const at = new Checker(path, parsed.lineOf);
  // An empty file is valid and changes nothing, as in the toolkit.
  const top = parsed.value === null ? {} : at.map([], parsed.value, ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit']);
  const tls = top.tls_server_config == null ? undefined : tlsPolicy(at, file, top.tls_server_config);
  return {
    tls,
    users: users(at, top.basic_auth_users),
    headers: headers(at, top.http_server_config),
    rateLimit: rateLimit(at, top.rate_limit),
    files: file.names,
  };
}

function tlsPolicy(at: Checker, file: FileReader, value: unknown): TlsPolicy {
  const path = ['tls_server_config'];
  const c = at.map(path, value, [
    'cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'client_allowed_sans',
    'min_version', 'max_version', 'cipher_suites', 'prefer_server_cipher_suites', 'curve_preferences',
  ]);
  const pem = (inline: string, named: string, required: boolean): string | undefined => {
    const text = at.string([...path, inline], c[inline]);
    const name = at.string([...path, named], c[named]);
    if (text !== undefined && name !== undefined) at.fail([...path, named], `cannot be given together with ${inline}`);
    if (text === undefined && name === undefined && required) at.fail(path, `needs ${named} (or ${inline})`);
    if (name === undefined) return text;
    try {
      return file.read(file.resolve(name));
    } catch (err) {
      return at.fail([...path, named], `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, name);
    }
  };
  const cert = pem('cert', 'cert_file', true)!;
  const key = pem('key', 'key_file', true)!;
  const ca = pem('client_ca', 'client_ca_file', false);

  const clientAuth = at.oneOf([...path, 'client_auth_type'], c.client_auth_type ?? 'NoClientCert', CLIENT_AUTH_TYPES);
  const verifies = clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert';
  if (ca !== undefined && clientAuth === 'NoClientCert') {
    at.fail([...path, 'client_auth_type'], 'is NoClientCert while client_ca_file is set; set the client_auth_type the CA is for');
  }
  if (verifies && ca === undefined) at.fail([...path, 'client_ca_file'], `is needed to verify client certificates (client_auth_type ${clientAuth})`);
  const allowedSans = at.strings([...path, 'client_allowed_sans'], c.client_allowed_sans);
  if (allowedSans.length > 0 && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireAndVerifyClientCert') {
    at.fail([...path, 'client_allowed_sans'], 'needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
  }

  const versionNames = Object.keys(TLS_VERSIONS);
  const minVersion = goTlsVersion(at.oneOf([...path, 'min_version'], c.min_version ?? 'TLS12', versionNames));
  const maxVersion = goTlsVersion(at.oneOf([...path, 'max_version'], c.max_version ?? 'TLS13', versionNames));
  const order = Object.values(TLS_VERSIONS);
  if (order.indexOf(minVersion) > order.indexOf(maxVersion)) at.fail([...path, 'min_version'], `is above max_version`, c.min_version);
  const suites = at.strings([...path, 'cipher_suites'], c.cipher_suites);
  const ciphers = suites.length === 0 ? undefined : goCipherSuites(suites, (name, known) =>
    at.fail([...path, 'cipher_suites'], `names ${JSON.stringify(name)}, which sockscope does not know; the known ones are ${known}`, suites));
  const curves = at.strings([...path, 'curve_preferences'], c.curve_preferences);
  const ecdhCurve = curves.length === 0 ? undefined : goCurves(curves, (name, known) =>
    at.fail([...path, 'curve_preferences'], `names ${JSON.stringify(name)}; the known ones are ${known}`, curves));

  const context: SecureContextOptions = {
    cert, key, ca, minVersion, maxVersion, ciphers, ecdhCurve,
    honorCipherOrder: at.boolean([...path, 'prefer_server_cipher_suites'], c.prefer_server_cipher_suites) ?? true,
  };
  try {
    createSecureContext(context);
  } catch (err) {
    at.fail(path, `is unusable: ${(err as Error).message} (do the certificate and key belong together?)`);
  }
  return { context, clientAuth, allowedSans: allowedSans.map(sanText) };
}

/** "DNS:example.com" as given, or a bare name/address as Node's subjectaltname writes it. */
function sanText(san: string): string {
  if (/^(DNS|IP Address|email|URI):/.test(san)) return san;
  if (/^[\d.]+$/.test(san) || san.includes(':')) return `IP Address:${san}`;
  if (san.includes('@')) return `email:${san}`;
  return `DNS:${san}`;
}

function users(at: Checker, value: unknown): Map<string, string> {
  const result = new Map<string, string>();
  if (value == null) return result;
  for (const [user, hash] of Object.entries(at.map(['basic_auth_users'], value))) {
    const where = ['basic_auth_users', user];
    if (user === '' || user.includes(':')) at.fail(where, 'is not a user name basic auth can send (empty or with ":")', user);
    if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) {
      at.fail(where, 'must be a bcrypt hash such as `htpasswd -nBC 10 "" | tr -d \':\\n\'` prints', '<hidden>');
    }
    result.set(user, hash as string);
  }
  return result;
}

function headers(at: Checker, value: unknown): Record<string, string> {
  if (value == null) return {};
  const server = at.map(['http_server_config'], value, ['headers', 'http2']);
  at.boolean(['http_server_config', 'http2'], server.http2);
  if (server.headers == null) return {};
  const result: Record<string, string> = {};
  for (const [name, raw] of Object.entries(at.map(['http_server_config', 'headers'], server.headers))) {
    const where = ['http_server_config', 'headers', name];
    if (!HEADERS.has(name.toLowerCase())) at.fail(where, `is not a header the web config may set; those are ${[...HEADERS.keys()].join(', ')}`);
    const text = at.string(where, raw) ?? '';
    const allowed = HEADERS.get(name.toLowerCase());
    if (allowed !== undefined && text !== '' && !allowed.includes(text.toLowerCase())) {
      at.fail(where, `must be one of ${allowed.join(', ')}`, text);
    }
    if (text !== '') result[name] = text;
  }
  return result;
}

/**
 * rate_limit: interval (a Go duration; 0 or absent: no limit) and burst. The toolkit takes
 * burst 0 with an interval and then refuses every request; here that is an error instead.
 */
function rateLimit(at: Checker, value: unknown): RateLimit | undefined {
  if (value == null) return undefined;
  const path = ['rate_limit'];
  const c = at.map(path, value, ['interval', 'burst']);
  let intervalMs = 0;
  if (c.interval != null) {
    const text = typeof c.interval === 'number' && c.interval === 0 ? '0' : c.interval;
    const parsed = typeof text === 'string' ? parseGoDurationMs(text) : undefined;
    if (parsed === undefined || parsed < 0) {
      at.fail([...path, 'interval'], 'must be a duration such as 1s, 500ms or 1m30s (0 turns the limit off)', c.interval);
    }
    intervalMs = parsed;
  }
  const burst = c.burst ?? 0;
  if (typeof burst !== 'number' || !Number.isSafeInteger(burst) || burst < 0) {
    at.fail([...path, 'burst'], 'must be a whole number of requests, 0 or more', c.burst);
  }
  if (intervalMs === 0) return undefined;
  if (c.burst == null) at.fail(path, 'needs burst (requests allowed at once, 1 or more) when interval is set');
  if (burst === 0) at.fail([...path, 'burst'], 'must be at least 1 when interval is set (0 would refuse every request)', 0);
  return { intervalMs, burst };
}

/** Reads files relative to the web config's directory, as the toolkit does, remembering each. */
class FileReader {
  readonly names: string[] = [];
  private readonly directory: string;

  constructor(readonly configPath: string) {
    this.directory = dirname(resolve(configPath));
  }

  resolve(name: string): string {
    return resolve(this.directory, name);
  }

  read(path: string): string {
    this.names.push(path);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      if (path !== this.configPath) throw err;
      throw new WebConfigError(`cannot read web config ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
}

/** Shape checks that fail with the file, the key and its line. */
class Checker {
  constructor(
    private readonly file: string,
    private readonly lineOf: (path: readonly string[]) => number | undefined,
  ) {}

  fail(path: readonly string[], problem: string, value?: unknown): never {
    const key = path.length === 0 ? 'the top level' : path.join('.');
    const shown = value === undefined ? '' : ` = ${JSON.stringify(value)}`;
    const line = this.lineOf(path);
    const where = line === undefined ? '' : ` (line ${line})`;
    throw new WebConfigError(`web config ${JSON.stringify(this.file)}: ${key}${shown} ${problem}${where}`);
  }

  /** A mapping; with `known`, any other key is an error (the toolkit's parser is strict too). */
  map(path: readonly string[], value: unknown, known?: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'must be a mapping', value);
    const record = value as Record<string, unknown>;
    for (const name of Object.keys(record)) {
      if (known !== undefined && !known.includes(name)) this.fail([...path, name], `is not a known key; the known keys here are ${known.join(', ')}`);
    }
    return record;
  }

  string(path: readonly string[], value: unknown): string | undefined {
    if (value == null) return undefined;
    if (typeof value !== 'string') this.fail(path, 'must be a string', value);
    return value;
  }

  boolean(path: readonly string[], value: unknown): boolean | undefined {
    if (value == null) return undefined;
    if (typeof value !== 'boolean') this.fail(path, 'must be true or false', value);
    return value;
  }

  strings(path: readonly string[], value: unknown): string[] {
    if (value == null) return [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) this.fail(path, 'must be a list of strings', value);
    return value as string[];
  }

  oneOf<T extends string>(path: readonly string[], value: unknown, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) this.fail(path, `must be one of ${allowed.join(', ')}`, value);
    return value as T;
  }
}
