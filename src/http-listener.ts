/**
 * Starting and closing a short-lived node:http listener, the one way for both the OAuth
 * callback listener (callback-server.ts) and the DingTalk emulator (emulator/server.ts).
 *
 * Flow: create the server with timeouts that keep slow or half-open clients from holding it →
 * bind (host, port, exclusive) → track every socket → `close()`: stop accepting, destroy every
 * socket (idle keep-alive ones included, so the process can exit at once); safe to call twice.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface HttpListenerOptions {
  /** An address (`127.0.0.1`, `::1`, `[::1]`) or a host name. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  handler: RequestListener;
  /** Refuse to share the port with a cluster worker (default true). */
  exclusive?: boolean;
  /** How long a client may take to send its headers (default 10 s). */
  headersTimeoutMs?: number;
  /** How long a client may take to send its whole request (default 15 s). */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open (default 500 ms). */
  keepAliveTimeoutMs?: number;
}

export interface HttpListener {
  readonly server: Server;
  /** The host as bound (brackets of an IPv6 literal removed). */
  readonly host: string;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops listening and destroys every open socket; resolves once the server has closed. */
  close(): Promise<void>;
}

/**
 * Binds a listener. Rejects with the bind error itself (`EADDRINUSE`, `EACCES`,
 * `EADDRNOTAVAIL`, ...): each caller names its own fix.
 */
export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const host = options.host.replace(/^\[|\]$/g, '');
  const sockets = new Set<Socket>();
  const server = createServer(options.handler);
  // Slow or half-open connections must not keep the listener (or the process) busy.
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  server.requestTimeout = options.requestTimeoutMs ?? 15_000;
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 500;
  server.maxHeadersCount = 100;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A request that cannot be parsed (or came too slowly) gets a short answer, then the door.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : '400 Bad Request';
    if (!socket.writable) return void socket.destroy();
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`, () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port, exclusive: options.exclusive ?? true }, () => {
      server.off('error', reject);
      resolve();
    });
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    host,
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      return closing;
    },
  };
}
