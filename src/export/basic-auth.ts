/**
 * HTTP basic auth against the web config's bcrypt hashes. bcrypt is slow by design
 * (about 70 ms at cost 10), so each answer is remembered, as the exporter toolkit does,
 * under a SHA-256 of the hash, the user and the password: never the password itself.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import bcrypt from 'bcryptjs';

/** Bounds the cache: a client trying passwords cannot grow it. */
const MAX_CACHED = 256;
// Checked for unknown users, so that answering takes as long as for known ones; made on first use.
let unknownUserHash: string | undefined;

export class BasicAuth {
  private readonly cache = new Map<string, boolean>();

  /** Whether the request's Authorization header names one of `users` with that user's password. */
  async allows(headers: IncomingHttpHeaders, users: ReadonlyMap<string, string>): Promise<boolean> {
    const credentials = parseBasic(headers.authorization);
    if (credentials === undefined) return false;
    const known = users.get(credentials.user);
    const hash = known ?? (unknownUserHash ??= bcrypt.hashSync('sockscope: no such user', 10));
    const key = createHash('sha256').update(`${hash}\0${credentials.user}\0${credentials.password}`).digest('hex');
    let ok = this.cache.get(key);
    if (ok === undefined) {
      ok = (await bcrypt.compare(credentials.password, hash)) && known !== undefined;
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, ok);
    }
    return ok;
  }
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
