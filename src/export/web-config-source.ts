/**
 * The web config in force. Like the exporter toolkit, which reads its file on every request,
 * it is checked on every connection and request; here by a stat of each file it was read
 * from, and read again only when one changed. A file that no longer reads leaves the last
 * good configuration in force, and its error is reported once.
 */
import { statSync } from 'node:fs';
import { readWebConfig, WebConfigError, type WebConfig } from './web-config';

export interface WebConfigSourceOptions {
  /** A changed file that does not read; reported once per state of the files. */
  onError?: (error: Error) => void;
  /** A changed file that read: the new configuration is in force. */
  onReload?: (config: WebConfig) => void;
}

export class WebConfigSource {
  private config: WebConfig;
  private signature: string;
  private failedSignature: string | undefined;

  /** Reads the file now: a bad one throws WebConfigError, for start-up to report. */
  constructor(readonly path: string, private readonly options: WebConfigSourceOptions = {}) {
    this.config = readWebConfig(path);
    this.signature = signatureOf(this.config.files);
  }

  /** The configuration in force, read again first if one of its files changed. */
  current(): WebConfig {
    const signature = signatureOf(this.config.files);
    if (signature === this.signature || signature === this.failedSignature) return this.config;
    try {
      const next = readWebConfig(this.path);
      if ((next.tls === undefined) !== (this.config.tls === undefined)) {
        throw new WebConfigError(
          `web config ${JSON.stringify(this.path)}: tls_server_config cannot be added or removed while sockscope runs; restart it`,
        );
      }
      // Taken before reading: a file that changes while being read is read again next time.
      const sameFiles = next.files.join('\0') === this.config.files.join('\0');
      this.signature = sameFiles ? signature : signatureOf(next.files);
      this.failedSignature = undefined;
      this.config = next;
      this.options.onReload?.(next);
    } catch (err) {
      this.failedSignature = signature;
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
    return this.config;
  }
}

/** What changes when a file is written, replaced (rename, as Kubernetes Secret volumes do) or removed. */
function signatureOf(files: readonly string[]): string {
  return files
    .map((file) => {
      try {
        const s = statSync(file);
        return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? 'unreadable';
      }
    })
    .join('|');
}
