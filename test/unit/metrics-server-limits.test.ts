/**
 * The metrics server's limits (prometheus.maxConnections, headersTimeout, maxHeaderSize...)
 * and its answers to requests the parser refuses, on loopback without BPF. The whole daemon
 * faces the same clients in test/faults/hostile-http.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { MetricsServer } from '../../src/export/metrics-server';
import { answerOf, connectRaw, oversizedHeaders, rawRequest } from '../faults/raw-http';

describe('metrics server limits', () => {
  let server: MetricsServer;
  let provider: MeterProvider;
  let port: number;

  before(async () => {
    server = new MetricsServer({
      host: '127.0.0.1',
      port: 0,
      isReady: () => true,
      limits: { maxConnections: 5, headersTimeout: 1000, requestTimeout: 2000, keepAliveTimeout: 1000, maxHeaderSize: 4096 },
    });
    provider = new MeterProvider({ readers: [server.reader] });
    port = (await server.start()).port;
  });

  after(async () => {
    await server.stop();
    await provider.shutdown();
  });

  test('headers past maxHeaderSize get 431, which reaches the client while it is still sending', async () => {
    const answer = await oversizedHeaders(port, 1024 * 1024);
    assert.equal(answer.status, 431, answer.text);
    assert.ok(answer.sentBytes < 1024 * 1024, 'the client stopped on the answer');
  });

  test('a request line the parser refuses gets 400; CONNECT gets 405', async () => {
    assert.equal((await rawRequest(port, 'BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n')).status, 400);
    const connect = await rawRequest(port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    assert.equal(connect.status, 405);
    assert.match(connect.text, /\r\nAllow: GET, HEAD\r\n/);
  });

  test('a connection that never finishes its headers gets 408 and is closed', async () => {
    const socket = await connectRaw(port);
    socket.write('GET /healthz HTTP/1.1\r\nX-Slow: ');
    const timer = setInterval(() => !socket.destroyed && socket.write('a'), 100);
    const answer = await answerOf(socket, 30_000).finally(() => clearInterval(timer));
    assert.equal(answer.status, 408);
    assert.ok(answer.closed);
  });

  test('connections past maxConnections are closed on arrival, without an answer', async () => {
    const held = await Promise.all(Array.from({ length: 5 }, () => connectRaw(port)));
    const extra = await connectRaw(port);
    const refused = await answerOf(extra, 30_000);
    assert.deepEqual({ status: refused.status, closed: refused.closed }, { status: undefined, closed: true });
    const heldAnswers = await Promise.all(held.map((s) => answerOf(s, 30_000)));
    assert.deepEqual(heldAnswers.map((a) => a.status), [408, 408, 408, 408, 408], 'the held ones time out');
    assert.equal((await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 200);
  });
});
