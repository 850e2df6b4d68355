/**
 * A `sockscope selftest` workload process. It runs inside the self-test's private network
 * namespace under a name of its own (process.title sets the kernel comm), does one job given
 * as a JSON argument, and reports on stdout as one JSON line. Every child ends when its stdin
 * closes, so a self-test that dies leaves no process behind, and with them its namespace.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { createInterface } from 'node:readline';
import type { ChildJob } from './jobs';
import { closeAndWait, connect, sendAndReadBack } from './sockets';

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
process.title = job.name;
const say = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const lines = createInterface({ input: process.stdin });
lines.on('close', () => process.exit(0));

async function tcpEchoServer(host: string, echoBack: boolean): Promise<number> {
  const server = net.createServer((s) => {
    s.on('data', (chunk: Buffer) => (echoBack ? s.write(chunk) : undefined));
    s.on('end', () => s.end());
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as net.AddressInfo).port;
}

async function udpEchoServer(type: 'udp4' | 'udp6', host: string): Promise<number> {
  const socket = dgram.createSocket(type);
  socket.on('message', (msg, from) => socket.send(msg, from.port, from.address));
  await new Promise<void>((r) => socket.bind(0, host, r));
  return socket.address().port;
}

async function udpEcho(type: 'udp4' | 'udp6', host: string, port: number, count: number, size: number): Promise<void> {
  const socket = dgram.createSocket(type);
  await new Promise<void>((r) => socket.bind(0, host, r));
  for (let i = 0; i < count; i++) {
    const reply = new Promise<void>((r) => socket.once('message', () => r()));
    socket.send(Buffer.alloc(size, 0x75), port, host);
    await reply;
  }
  socket.close();
}

async function main(): Promise<void> {
  switch (job.kind) {
    case 'namespace':
      // Holds the namespace open; it ends when the self-test closes stdin (or dies).
      say({ ready: true });
      return;
    case 'serve':
      say({
        tcp4: await tcpEchoServer('127.0.0.1', true),
        tcp6: await tcpEchoServer('::1', true),
        udp4: await udpEchoServer('udp4', '127.0.0.1'),
        udp6: await udpEchoServer('udp6', '::1'),
        sink: await tcpEchoServer('127.0.0.1', false),
      });
      return;
    case 'tcp-echo': {
      const s = await connect(job.host, job.port);
      await sendAndReadBack(s, job.bytes);
      await closeAndWait(s);
      say({ done: true });
      return process.exit(0);
    }
    case 'udp-echo':
      await udpEcho(job.host.includes(':') ? 'udp6' : 'udp4', job.host, job.port, job.count, job.size);
      say({ done: true });
      return process.exit(0);
    case 'connect': {
      // Each connection moves a few bytes, so the self-test has many flows to count.
      for (let i = 0; i < job.count; i++) {
        const s = await connect(job.host, job.port);
        await sendAndReadBack(s, job.bytes);
        await closeAndWait(s);
      }
      let refused = 0;
      for (let i = 0; i < job.refusedCount; i++) {
        await connect(job.host, job.refusedPort).then(
          (s) => s.destroy(),
          (err: NodeJS.ErrnoException) => (refused += err.code === 'ECONNREFUSED' ? 1 : 0),
        );
      }
      say({ refused });
      return process.exit(0);
    }
    case 'hold': {
      const sockets: net.Socket[] = [];
      for (let i = 0; i < job.count; i++) sockets.push(await connect(job.host, job.port));
      say({ open: sockets.length });
      for await (const line of lines) {
        if (line.trim() !== 'close') continue;
        await Promise.all(sockets.map(closeAndWait));
        say({ closed: sockets.length });
        return process.exit(0);
      }
      return;
    }
    case 'bulk': {
      // Small writes, one segment each, so that dropped segments are retransmitted one by one.
      const s = await connect(job.host, job.port);
      s.setNoDelay(true);
      for (let i = 0; i < job.writes; i++) {
        if (!s.write(Buffer.alloc(job.size, 0x62))) await new Promise((r) => s.once('drain', r));
        await new Promise((r) => setTimeout(r, 2));
      }
      await closeAndWait(s);
      say({ done: true });
      return process.exit(0);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${job.name}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
