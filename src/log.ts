/** The daemon's logger: pino JSON lines on stdout. */
import pino from 'pino';
import type { Config } from './config/schema.js';

export type Logger = pino.Logger;

/**
 * @param destination where the lines go; stdout unless a test passes its own stream.
 */
export function createLogger(
  level: Config['log']['level'],
  // Synchronous writes, so the last lines before a crash or process.exit are not lost.
  destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true }),
): Logger {
  return pino({ name: 'sockscope', level }, destination);
}
