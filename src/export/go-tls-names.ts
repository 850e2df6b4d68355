/**
 * Go's crypto/tls names, as the exporter-toolkit web config writes them, in OpenSSL's
 * spelling for Node's TLS server.
 */
import type { SecureVersion } from 'node:tls';

/** Go's version names, lowest first. */
export const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};

export function goTlsVersion(name: string): SecureVersion {
  return TLS_VERSIONS[name]!;
}

/** Go's tls.CipherSuites() for TLS 1.0-1.2 that OpenSSL also has. */
const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  // Go's older names for the two above.
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

// Go accepts these in the list and ignores them: TLS 1.3 suites are not configurable there.
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/**
 * The cipher list for Node's `ciphers` option. TLS 1.3 keeps its default suites, as in Go;
 * Node takes those from the same option, so they are appended.
 */
export function goCipherSuites(names: readonly string[], unknown: (name: string, known: string) => never): string {
  const openssl = names.flatMap((name) => {
    if (TLS13_SUITES.includes(name)) return [];
    const mapped = CIPHER_SUITES[name];
    return mapped === undefined ? unknown(name, [...Object.keys(CIPHER_SUITES), ...TLS13_SUITES].join(', ')) : [mapped];
  });
  return [...openssl, ...TLS13_SUITES].join(':');
}

const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/** The curve list for Node's `ecdhCurve` option. */
export function goCurves(names: readonly string[], unknown: (name: string, known: string) => never): string {
  return names.map((name) => CURVES[name] ?? unknown(name, Object.keys(CURVES).join(', '))).join(':');
}
