/**
 * Starting and closing a short-lived node:http listener, the one way for both the OAuth
 * callback listener (callback-server.ts) and the DingTalk emulator (emulator/server.ts).
 *
 * Flow: create the server with timeouts that keep slow or half-open clients from holding it
 * (checked every second, not Node's default 30 s) → bind (host, port, exclusive) → track every
 * socket, at most `maxConnections` of them: past that, the oldest idle one (no request in
 * flight) is closed, so idle connections cannot exhaust file descriptors or crowd out the real
 * callback → `close()`: stop accepting, destroy every socket (idle keep-alive ones included, so
 * the process can exit at once); safe to call twice.
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
  /** How often the header and request timeouts are checked (default 1 s; Node's own is 30 s). */
  checkIntervalMs?: number;
  /**
   * Open connections at most (default 64). A new one beyond it closes the oldest connection
   * without a request in flight (or, when every one is busy, itself).
   */
  maxConnections?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 64;

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
  // In the order they connected (a Set iterates in insertion order): the oldest first.
  const sockets = new Set<Socket>();
  /** Sockets with a request whose response is not finished (never evicted). */
  const busy = new Set<Socket>();
  const maxConnections = Math.max(1, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  // Slow or half-open connections must not keep the listener (or the process) busy: Node
  // enforces headersTimeout and requestTimeout only when it checks, every 30 s by default.
  const server = createServer(
    { connectionsCheckingInterval: options.checkIntervalMs ?? 1000 },
    options.handler,
  );
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  server.requestTimeout = options.requestTimeoutMs ?? 15_000;
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 500;
  server.maxHeadersCount = 100;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      busy.delete(socket);
    });
    if (sockets.size <= maxConnections) return;
    // Over the cap: the oldest connection that is not serving a request makes room.
    for (const other of sockets) {
      if (!busy.has(other)) {
        sockets.delete(other);
        other.destroy();
        return;
      }
    }
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    busy.add(socket);
    res.once('close', () => busy.delete(socket));
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
