/**
 * Transport interfaces (asyncio's `transports.py`): what a protocol is given
 * to write, close and control flow. The implementations live beside them
 * (socket transports, datagram transports, subprocess transports).
 */

/** Extra information a transport can give: 'peername', 'sockname', 'socket', 'sslcontext', 'peercert'... */
export type ExtraInfoName = string;

export interface BaseTransport {
  /** Information about the transport or its socket; `defaultValue` when unknown. */
  getExtraInfo(name: ExtraInfoName, defaultValue?: unknown): unknown;
  isClosing(): boolean;
  /** Closes after flushing buffered data; the protocol's connectionLost(null) follows. */
  close(): void;
  setProtocol(protocol: unknown): void;
  getProtocol(): unknown;
}

export interface ReadTransport extends BaseTransport {
  isReading(): boolean;
  /** Stops calling dataReceived and stops reading from the socket. */
  pauseReading(): void;
  resumeReading(): void;
}

export interface WriteTransport extends BaseTransport {
  /** Buffers `data` for sending (strings are UTF-8); never blocks. */
  write(data: Buffer | Uint8Array | string): void;
  writelines(list: Iterable<Buffer | Uint8Array | string>): void;
  /** Closes the write side after buffered data is flushed (half-close). */
  writeEof(): void;
  canWriteEof(): boolean;
  /** Closes at once, dropping buffered data; connectionLost(null) follows. */
  abort(): void;
  /** high defaults to 64 KiB, low to high / 4; RangeError-class error if high < low. */
  setWriteBufferLimits(high?: number, low?: number): void;
  getWriteBufferLimits(): [number, number];
  getWriteBufferSize(): number;
}

export interface Transport extends ReadTransport, WriteTransport {}

export interface DatagramTransport extends BaseTransport {
  /** Sends one datagram; `addr` is required unless the endpoint is connected. */
  sendto(data: Buffer | Uint8Array | string, addr?: [string, number]): void;
  abort(): void;
  getWriteBufferSize(): number;
}

export interface SubprocessTransport extends BaseTransport {
  getPid(): number | undefined;
  /** The exit code, negative for a signal, null while running. */
  getReturncode(): number | null;
  /** The transport of the child's fd 0, 1 or 2, or null when not piped. */
  getPipeTransport(fd: number): WriteTransport | ReadTransport | null;
  sendSignal(signal: NodeJS.Signals | number): void;
  terminate(): void;
  kill(): void;
}
