/**
 * The answer to a request Node's HTTP parser refused (too large headers, a bad request line,
 * a request past its deadline). Node's own handler writes the status and destroys the socket
 * at once; with request bytes still unread, the kernel then resets the connection and the
 * client loses the status (a 431 for 1 MiB of headers never arrives). Here the connection is
 * half-closed after the status and destroyed a moment later, so the status gets through.
 */
import type { Duplex } from 'node:stream';

/** How long a refused client may keep sending (into a parser that ignores it) before the reset. */
const LINGER_MS = 1000;

const STATUS_BY_CODE: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

const answered = new WeakSet<Duplex>();

/** A 'clientError' listener for an http.Server. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // The parser reports every later chunk of a refused request again.
  if (answered.has(socket)) return;
  answered.add(socket);
  // A response already begun cannot take a status line in the middle of it.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || error.code === 'ECONNRESET' || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = STATUS_BY_CODE[error.code ?? ''] ?? '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  const reset = setTimeout(() => socket.destroy(), LINGER_MS);
  reset.unref();
  socket.once('close', () => clearTimeout(reset));
}
