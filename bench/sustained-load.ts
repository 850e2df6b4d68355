/**
 * Sustained load: the highest small-message rate one loopback sender produces
 * (iperf3 UDP, 64-byte datagrams, unlimited bandwidth) for a fixed time, with the
 * real daemon running. Reports events/s, lost events, the daemon's CPU time next to
 * the workload's, and the exported bytes next to iperf3's own totals (each direction
 * also carries iperf3's 4-byte UDP handshake datagrams: 8 bytes more). A long,
 * independent cross-check of `npm run bench`'s max-rate phase (which uses loadgen).
 *
 *   node dist/bench/sustained-load.js [seconds=180] [messageSize=64]
 *
 * Every child (daemon, iperf3 server and client) is killed when this exits, however
 * it exits (bench/lib/children.ts).
 */
import { once } from 'node:events';
import { spawnChild, stopChild, useReaper } from './lib/children';
import { SockscopeDaemon } from './lib/daemon';
import { sumOf } from './lib/exposition';
import { buildNative } from './lib/native-build';
import { ProcessSampler } from './lib/proc-stats';

const seconds = Number(process.argv[2] ?? 180);
const messageSize = Number(process.argv[3] ?? 64);

function collectStdout(child: ReturnType<typeof spawnChild>): Promise<string> {
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  return once(child, 'exit').then(() => out);
}

async function main(): Promise<void> {
  useReaper((await buildNative()).reaper);
  const daemon = await SockscopeDaemon.start();
  try {
    const iperfPort = 5201 + Math.floor(Math.random() * 1000);
    const server = spawnChild('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(iperfPort), '-J'], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Listen now: the server may exit before the client's report is parsed.
    const serverReport = collectStdout(server);
    const serverExit = once(server, 'exit');
    await new Promise((r) => setTimeout(r, 500));
    const daemonCpu = new ProcessSampler(daemon.pid);
    const serverCpu = new ProcessSampler(server.pid!);
    const cpuAtStart = daemonCpu.cpuSeconds();
    const client = spawnChild(
      'iperf3',
      ['-c', '127.0.0.1', '-p', String(iperfPort), '-u', '-b', '0', '-l', String(messageSize), '-t', String(seconds), '-J'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const clientCpu = new ProcessSampler(client.pid!);
    const report = JSON.parse(await collectStdout(client)) as {
      end: { sum: { packets: number; bytes: number; lost_packets: number } };
    };
    await serverExit;
    const workloadCpu = clientCpu.cpuSeconds() + serverCpu.cpuSeconds();
    clientCpu.stop();
    serverCpu.stop();
    await stopChild(server);
    // The scrape drains the ring and the native table.
    const samples = await daemon.scrape();
    const daemonCpuUsed = daemonCpu.cpuSeconds() - cpuAtStart;
    const peakRssKiB = daemonCpu.memory()?.peak ?? NaN;
    daemonCpu.stop();

    const datagramsSent = report.end.sum.packets;
    // What the server read, from its own per-interval byte counts: the client's
    // packets - lost_packets also counts datagrams still queued, unread, when the test ended
    // (iperf3 counts only sequence gaps as lost).
    const serverIntervals = (JSON.parse(await serverReport) as { intervals: Array<{ sum: { bytes: number } }> }).intervals;
    const serverBytesRead = serverIntervals.reduce((sum, i) => sum + i.sum.bytes, 0);
    const datagramsReceived = serverBytesRead / messageSize;
    // One event per successful send or receive call, each one datagram.
    const events = datagramsSent + datagramsReceived;
    const exported = (direction: string) =>
      sumOf(
        samples,
        'sockscope_network_io_bytes_total',
        (l) => l.network_transport === 'udp' && l.network_io_direction === direction && l.process_executable_name === 'iperf3',
      );
    const losses = SockscopeDaemon.losses(samples);
    const result = {
      seconds,
      messageSize,
      datagramsSent,
      datagramsReceived,
      eventsPerSecond: Math.round(events / seconds),
      eventsLost: losses.ringFull,
      eventsMissed: losses.missed,
      mapFull: losses.mapFull,
      exportedUdpTransmitBytes: exported('transmit'),
      exportedUdpReceiveBytes: exported('receive'),
      iperfBytesSent: report.end.sum.bytes,
      iperfServerBytesRead: serverBytesRead,
      daemonCpuSeconds: daemonCpuUsed,
      workloadCpuSeconds: workloadCpu,
      daemonCpuPercentOfWorkload: (100 * daemonCpuUsed) / workloadCpu,
      daemonCpuPercentOfOneCore: (100 * daemonCpuUsed) / seconds,
      daemonCpuNsPerEvent: (daemonCpuUsed * 1e9) / events,
      daemonPeakRssMiB: peakRssKiB / 1024,
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await daemon.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
