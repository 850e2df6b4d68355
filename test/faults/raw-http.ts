/**
 * HTTP clients that misbehave, on raw TCP sockets: what a well-behaved client library would
 * refuse to send (bad request lines, unnormalised paths, NUL) or would never do (hold a
 * connection without a request, trickle headers, send a megabyte of them).
 */
import net from 'node:net';
import http from 'node:http';
import { once } from 'node:events';

export interface RawAnswer {
  /** The status code of the first response line; undefined when the server closed without one. */
  status: number | undefined;
  text: string;
  /** The connection ended (closed by the server, or reset). */
  closed: boolean;
}

function statusOf(text: string): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export async function connectRaw(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined); // a reset shows as 'close'; the test reads the answer
  await once(socket, 'connect');
  return socket;
}

/** Collects what the server sends until it closes the connection or `timeoutMs` passes. */
export function answerOf(socket: net.Socket, timeoutMs: number): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let text = '';
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      resolve({ status: statusOf(text), text, closed });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
    if (socket.destroyed) done(true);
    else socket.on('close', () => done(true));
  });
}

/** Sends `request` as it is (a request line ending in Connection: close) and reads the answer to the close. */
export async function rawRequest(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawAnswer> {
  const socket = await connectRaw(port);
  const answer = answerOf(socket, timeoutMs);
  socket.write(request);
  const result = await answer;
  socket.destroy();
  return result;
}

/**
 * A request whose headers grow to `bytes`, written a chunk at a time as the server takes them;
 * stops writing once the server answers or closes (it need not read the rest).
 */
export async function oversizedHeaders(port: number, bytes: number, timeoutMs = 20_000): Promise<RawAnswer & { sentBytes: number }> {
  const socket = await connectRaw(port);
  const answer = answerOf(socket, timeoutMs);
  let answered = false;
  void answer.then(() => (answered = true));
  socket.on('data', () => (answered = true));
  let sentBytes = 0;
  const chunk = Buffer.alloc(16 * 1024, 'a');
  socket.write('GET /metrics HTTP/1.1\r\nHost: sockscope\r\nX-Padding: ');
  while (sentBytes < bytes && !answered && !socket.destroyed) {
    // Not events.once: it rejects on the EPIPE of a server that stopped reading. Otherwise a
    // turn of the event loop, so an answer that came is seen before the next chunk.
    if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r).once('close', r));
    else await new Promise((r) => setImmediate(r));
    sentBytes += chunk.length;
  }
  if (!answered && !socket.destroyed) socket.write('\r\n\r\n');
  const result = await answer;
  socket.destroy();
  return { ...result, sentBytes };
}

/** GET `path` on a new connection (no agent, no keep-alive); the status, or why none came within `timeoutMs`. */
export function probe(port: number, path: string, timeoutMs: number): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    // The whole answer within the bound, not just some activity on the socket.
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const settle = (result: { status?: number; body?: string; error?: string }): void => {
      clearTimeout(timer);
      resolve(result);
    };
    const request = http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (c: string) => (body += c));
      response.on('end', () => settle({ status: response.statusCode, body }));
      response.on('error', (err) => settle({ error: err.message }));
    });
    request.on('error', (err) => settle({ error: err.message }));
  });
}
