/** TCP client steps of the self-test's children (and of the test fixtures that drive connections). */
import net from 'node:net';

/** Connects, optionally from a fixed local port on the same host address. */
export function connect(host: string, port: number, localPort?: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, ...(localPort ? { localAddress: host, localPort } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Ends our side and resolves once the peer has closed too (the socket keeps reading until then). */
export function closeAndWait(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    s.once('close', () => resolve());
    s.on('data', () => undefined);
    s.end();
  });
}

/** Writes `bytes` and resolves with the count once as many came back from an echo server. */
export function sendAndReadBack(s: net.Socket, bytes: number): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (chunk: Buffer) => {
      got += chunk.length;
      if (got < bytes) return;
      s.off('data', onData);
      resolve(got);
    };
    s.on('data', onData);
    s.write(Buffer.alloc(bytes, 0x73));
  });
}
