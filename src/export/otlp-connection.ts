/**
 * What an OTLP push needs beyond the endpoint, read from the otlp.* settings: the TLS files
 * and the headers. Everything is read and checked once at start-up, so that a missing file or
 * a bad key is one error before the daemon runs instead of a failed push every interval.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Config } from '../config/schema';
import { parseOtlpHeaders } from '../config/otlp-headers';

export type OtlpSettings = Config['otlp'];

/** PEM contents; an absent one is left to the exporter (OTEL_EXPORTER_OTLP_* variables, system CAs). */
export interface OtlpTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface OtlpConnection {
  /** undefined: the exporter picks (plaintext for http://, TLS with OTEL_EXPORTER_OTLP_* files for https://). */
  tls?: OtlpTls;
  /** gRPC metadata keys (lowercase) and values; otlp.headers wins over otlp.headersFile. */
  headers: Array<[string, string]>;
  compression: OtlpSettings['compression'];
}

/** A setting and what is wrong with it, for the config loader's one-line error. */
export class OtlpSettingError extends Error {
  constructor(readonly key: string, problem: string) {
    super(problem);
  }
}

/** Reads every file the otlp.* settings name; throws an OtlpSettingError naming the first bad setting. */
export function readOtlpConnection(settings: OtlpSettings): OtlpConnection {
  const tlsKeys = ['caFile', 'certFile', 'keyFile'] as const;
  const tlsGiven = tlsKeys.filter((key) => settings[key] !== '');
  if (tlsGiven.length > 0 && settings.endpoint.startsWith('http://')) {
    throw new OtlpSettingError(`otlp.${tlsGiven[0]}`, `needs an https:// otlp.endpoint, not ${settings.endpoint}`);
  }
  if ((settings.certFile === '') !== (settings.keyFile === '')) {
    const [given, missing] = settings.certFile === '' ? ['keyFile', 'certFile'] : ['certFile', 'keyFile'];
    throw new OtlpSettingError(`otlp.${given}`, `needs otlp.${missing} too (a client certificate goes with its key)`);
  }
  const tls: OtlpTls | undefined =
    tlsGiven.length === 0
      ? undefined
      : {
          ca: readPem('otlp.caFile', settings.caFile, (pem) => void new X509Certificate(pem)),
          cert: readPem('otlp.certFile', settings.certFile, (pem) => void new X509Certificate(pem)),
          key: readPem('otlp.keyFile', settings.keyFile, (pem) => void createPrivateKey(pem)),
        };
  const fromFile = settings.headersFile === '' ? [] : parseHeaders('otlp.headersFile', readSetting('otlp.headersFile', settings.headersFile).toString('utf8'));
  const fromSetting = parseHeaders('otlp.headers', settings.headers);
  const headers = new Map([...fromFile, ...fromSetting]);
  return { tls, headers: [...headers], compression: settings.compression };
}

/** The problem readOtlpConnection finds with `key`, or undefined (for the config loader's checks). */
export function otlpSettingProblem(key: string, settings: OtlpSettings): string | undefined {
  if (settings.endpoint === '') return undefined;
  try {
    readOtlpConnection(settings);
    return undefined;
  } catch (err) {
    if (err instanceof OtlpSettingError && err.key === key) return err.message;
    return undefined;
  }
}

function readSetting(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new OtlpSettingError(key, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function readPem(key: string, path: string, check: (pem: Buffer) => void): Buffer | undefined {
  if (path === '') return undefined;
  const pem = readSetting(key, path);
  try {
    check(pem);
  } catch (err) {
    throw new OtlpSettingError(key, `is not a PEM file of the expected kind: ${(err as Error).message}`);
  }
  return pem;
}

function parseHeaders(key: string, text: string): Array<[string, string]> {
  try {
    return parseOtlpHeaders(text);
  } catch (err) {
    throw new OtlpSettingError(key, (err as Error).message);
  }
}
