/**
 * Server (asyncio's `base_events.Server`): the listening sockets made by
 * `createServer` / `createUnixServer` / `startServer`, and the connections
 * they accepted.
 *
 * Guarantees, as asyncio 3.13's:
 * - `close()` stops listening at once (the listening sockets are released)
 *   and never touches accepted connections: they stay up until they close.
 *   `closeClients()` / `abortClients()` close them too.
 * - `waitClosed()` resolves once the server is closed *and* every
 *   connection it accepted is gone; it never resolves before `close()`.
 * - `serveForever()` accepts until cancelled; cancelling it closes the server
 *   and waits for `waitClosed()` before the CancelledError goes on.
 * - Closing the loop closes its servers.
 */
import type { AddressInfo, ListenOptions, Server as NodeServer, Socket } from 'node:net';
import { createServer as createNodeServer } from 'node:net';
import { TLSSocket, type SecureContext, type TLSSocketOptions } from 'node:tls';
import { taskContext } from './context.js';
import { RuntimeError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import type { Future } from './futures.js';
import type { TimerHandle } from './handles.js';
import { logger } from './log.js';
import type { Protocol } from './protocols.js';
import { sleep } from './sleep.js';
import { SocketTransport } from './socket-transport.js';

/** @internal TLS settings of a listening server, resolved by tcp.ts. */
export interface ServerTlsSettings {
  context: SecureContext;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  ALPNProtocols?: TLSSocketOptions['ALPNProtocols'];
  SNICallback?: TLSSocketOptions['SNICallback'];
  /** Seconds a client has to finish the handshake. */
  handshakeTimeout: number;
}

/** @internal */
export interface ServerSettings {
  protocolFactory: () => Protocol;
  tls: ServerTlsSettings | null;
  /** For Unix servers: the socket's path. */
  unixPath: string | null;
  backlog: number;
}

/** One listening socket of a Server (asyncio's `TransportSocket`). */
export class ServerSocket {
  /** @internal */
  constructor(
    /** The Node server listening on this socket. */
    readonly server: NodeServer,
    private readonly unixPath: string | null,
  ) {}

  /** [host, port] for TCP, the path for a Unix socket. */
  getsockname(): [string, number] | string {
    if (this.unixPath !== null) return this.unixPath;
    const address = this.server.address() as AddressInfo | null;
    return address === null ? ['', 0] : [address.address, address.port];
  }

  /** 'IPv4', 'IPv6' or 'unix'. */
  get family(): string {
    if (this.unixPath !== null) return 'unix';
    return (this.server.address() as AddressInfo | null)?.family ?? 'unknown';
  }
}

export class Server implements AsyncDisposable {
  /** The listening Node servers; null once closed. */
  private listeners: NodeServer[] | null = [];
  private socketsView: ServerSocket[] = [];
  private readonly clients = new Set<SocketTransport>();
  /** Connections still in their TLS handshake. */
  private readonly handshakes = new Set<Socket>();
  /** Connections accepted before serving started, handed over by startServing(). */
  private held: Socket[] = [];
  private waiters: Future<void>[] | null = [];
  private serving = false;
  private servingForeverFut: Future<void> | null = null;
  private readonly unregisterLoopHook: () => void;

  /** @internal Made by createServer / createUnixServer / startServer. */
  constructor(
    private readonly loop: EventLoop,
    private readonly settings: ServerSettings,
  ) {
    this.unregisterLoopHook = loop._onClose(() => {
      this.close();
      this.abortClients();
    });
  }

  // ---- asyncio's Server API ------------------------------------------------

  getLoop(): EventLoop {
    return this.loop;
  }

  isServing(): boolean {
    return this.serving;
  }

  /** The listening sockets; empty once closed. */
  get sockets(): readonly ServerSocket[] {
    return this.listeners === null ? [] : this.socketsView;
  }

  /** The first listening socket's address, as Node's `server.address()`; null once closed. */
  address(): AddressInfo | string | null {
    return this.listeners?.[0]?.address() ?? null;
  }

  /**
   * Stops listening (idempotent). Connections already accepted stay up; see
   * closeClients() / abortClients(). A running serveForever() is cancelled.
   */
  close(): void {
    const listeners = this.listeners;
    if (listeners === null) return;
    this.listeners = null;
    this.serving = false;
    for (const listener of listeners) listener.close();
    for (const socket of this.held) socket.destroy();
    this.held = [];
    const fut = this.servingForeverFut;
    this.servingForeverFut = null;
    if (fut !== null && !fut.done()) fut.cancel();
    this.unregisterLoopHook();
    this.maybeWakeup();
  }

  /** Closes every accepted connection, each after flushing what it buffered. */
  closeClients(): void {
    for (const transport of [...this.clients]) transport.close();
    for (const socket of [...this.handshakes]) socket.destroy();
  }

  /** Aborts every accepted connection at once, dropping buffered data. */
  abortClients(): void {
    for (const transport of [...this.clients]) transport.abort();
    for (const socket of [...this.handshakes]) socket.destroy();
  }

  /** Starts accepting (idempotent); resolves one loop iteration later. RuntimeError once closed. */
  async startServing(): Promise<void> {
    this.startServingNow();
    await sleep(0);
  }

  /**
   * Accepts connections until cancelled; the cancel closes the server and
   * waits for waitClosed(). RuntimeError if the server is closed or another
   * serveForever() runs.
   */
  async serveForever(): Promise<void> {
    if (this.servingForeverFut !== null) {
      throw new RuntimeError(`server ${this} is already being awaited on serveForever()`);
    }
    if (this.listeners === null) throw new RuntimeError(`server ${this} is closed`);
    this.startServingNow();
    const fut = this.loop.createFuture<void>();
    this.servingForeverFut = fut;
    try {
      await fut;
    } catch (err) {
      this.close();
      await this.waitClosed();
      throw err;
    } finally {
      if (this.servingForeverFut === fut) this.servingForeverFut = null;
    }
  }

  /** Resolves once the server is closed and every connection it accepted is gone. */
  async waitClosed(): Promise<void> {
    if (this.waiters === null) return;
    const waiter = this.loop.createFuture<void>();
    this.waiters.push(waiter);
    await waiter;
  }

  /** `await using server = ...`: close() then waitClosed(). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }

  toString(): string {
    const names = this.sockets.map((socket) => JSON.stringify(socket.getsockname()));
    return `<Server sockets=(${names.join(', ')})>`;
  }

  // ---- listening -----------------------------------------------------------

  /**
   * @internal Binds and listens on each target in turn. On failure or
   * cancellation every socket opened so far is closed and the error raised.
   */
  async _listen(targets: readonly ListenOptions[]): Promise<void> {
    try {
      for (const target of targets) await this.listenOn(target);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private async listenOn(target: ListenOptions): Promise<void> {
    const listeners = this.listeners;
    if (listeners === null) throw new RuntimeError('the server was closed while it started listening');
    const noDelay = this.settings.unixPath === null;
    // Node runs a server's events in the async context it was made in: make
    // it outside any task, so no protocol callback runs as if inside one.
    const listener = taskContext.exit(() => createNodeServer({ allowHalfOpen: true, noDelay }));
    listeners.push(listener);
    this.socketsView.push(new ServerSocket(listener, this.settings.unixPath));
    listener.on('connection', this.onConnection);
    const listening = this.loop.createFuture<void>();
    const onError = (err: Error): void => {
      if (!listening.done()) listening.setException(err);
    };
    listener.once('error', onError);
    taskContext.exit(() =>
      listener.listen({ ...target, backlog: this.settings.backlog }, () => {
        if (!listening.done()) listening.setResult(undefined);
      }),
    );
    try {
      await listening;
    } finally {
      listener.off('error', onError);
    }
    listener.on('error', this.onAcceptError);
  }

  private startServingNow(): void {
    if (this.listeners === null) throw new RuntimeError(`server ${this} is closed`);
    if (this.serving) return;
    this.serving = true;
    const held = this.held;
    this.held = [];
    for (const socket of held) {
      socket.off('error', ignoreError);
      this.accept(socket);
    }
  }

  // ---- accepting -----------------------------------------------------------

  private readonly onConnection = (socket: Socket): void => {
    if (this.listeners === null) {
      socket.destroy();
      return;
    }
    if (!this.serving) {
      // Listening but not serving yet: keep it, as the kernel's backlog would.
      socket.on('error', ignoreError);
      socket.once('close', () => (this.held = this.held.filter((held) => held !== socket)));
      this.held.push(socket);
      return;
    }
    this.accept(socket);
  };

  private accept(socket: Socket): void {
    const tls = this.settings.tls;
    if (tls === null) this.makeTransport(socket, null);
    else this.startTls(socket, tls);
  }

  /** Server side of the TLS handshake; the transport is made once it completes. */
  private startTls(raw: Socket, tls: ServerTlsSettings): void {
    const socket = new TLSSocket(raw, {
      isServer: true,
      secureContext: tls.context,
      requestCert: tls.requestCert,
      rejectUnauthorized: tls.rejectUnauthorized,
      ALPNProtocols: tls.ALPNProtocols,
      SNICallback: tls.SNICallback,
    });
    // A TLS socket destroyed before its handshake completes leaves the TCP socket open.
    socket.once('close', () => raw.destroy());
    this.handshakes.add(socket);
    let timer: TimerHandle | null = null;
    const finish = (): void => {
      timer?.cancel();
      this.handshakes.delete(socket);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('end', onEnd);
    };
    const onError = (err: Error): void => {
      // As asyncio: a failed handshake is the client's problem, logged in debug mode only.
      if (this.loop.getDebug()) logger.debug(`${this}: TLS handshake failed: ${err.message}`);
    };
    const onClose = (): void => {
      finish();
      this.maybeWakeup();
    };
    // The client left mid-handshake (e.g. it rejected the certificate).
    const onEnd = (): void => {
      socket.destroy();
    };
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('end', onEnd);
    socket.once('secure', () => {
      finish();
      this.makeTransport(socket, tls.context);
    });
    if (!this.loop.isClosed()) {
      timer = this.loop.callLater(tls.handshakeTimeout, () => {
        socket.destroy(new Error(`TLS handshake did not complete in ${tls.handshakeTimeout} seconds`));
      });
    }
  }

  private makeTransport(socket: Socket, sslContext: SecureContext | null): void {
    let protocol: Protocol;
    try {
      protocol = this.settings.protocolFactory();
    } catch (exception) {
      this.loop.callExceptionHandler({
        message: 'Error on transport creation for incoming connection',
        exception,
        server: this,
      });
      socket.destroy();
      return;
    }
    new SocketTransport(this.loop, socket, protocol, {
      server: this,
      sslContext,
      unixPath: this.settings.unixPath,
      isServerSide: true,
    });
  }

  private readonly onAcceptError = (exception: Error): void => {
    if (this.loop.isClosed()) return;
    this.loop.callExceptionHandler({ message: 'socket.accept() failed', exception, server: this });
  };

  /** @internal Called by each transport this server accepted, when it is made. */
  _attach(transport: SocketTransport): void {
    this.clients.add(transport);
  }

  /** @internal Called by a transport once its connection is gone. */
  _detach(transport: SocketTransport): void {
    this.clients.delete(transport);
    this.maybeWakeup();
  }

  private maybeWakeup(): void {
    if (this.listeners !== null || this.clients.size > 0 || this.handshakes.size > 0) return;
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters === null || this.loop.isClosed()) return;
    for (const waiter of waiters) if (!waiter.done()) waiter.setResult(undefined);
  }
}

function ignoreError(): void {}
