import { createServer } from 'node:net';

/**
 * Asks the kernel for an unused TCP port on a loopback address.
 * The port is released before returning, so a caller that hands it to another
 * process must tolerate the (rare) case where something else grabs it first.
 */
export function freeLoopbackPort(host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected server address: ${String(address)}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
