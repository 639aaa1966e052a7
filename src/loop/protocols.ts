/**
 * Protocols (asyncio's `protocols.py`): the callbacks a transport calls.
 *
 * Subclass the one that fits and override what you need; every method has a
 * do-nothing default. Order guaranteed by greenloop's transports:
 * `connectionMade` first, then `dataReceived`*, then `eofReceived` at most
 * once, then `connectionLost(err | null)` exactly once, last.
 */
import type { BaseTransport, DatagramTransport, SubprocessTransport, Transport } from './transports.js';

export class BaseProtocol {
  /** The connection is up; `transport` is how to write and close. */
  connectionMade(_transport: BaseTransport): void {}
  /** The connection is gone: `error` is null on a clean close or EOF. */
  connectionLost(_error: Error | null): void {}
  /** The transport's write buffer went over its high-water mark. */
  pauseWriting(): void {}
  /** The transport's write buffer drained to its low-water mark. */
  resumeWriting(): void {}
}

/** A stream (TCP, Unix socket, TLS, pipe) protocol. */
export class Protocol extends BaseProtocol {
  override connectionMade(_transport: Transport): void {}
  dataReceived(_data: Buffer): void {}
  /**
   * The peer closed its write side. Return true to keep our write side open
   * (half-close); otherwise the transport closes itself.
   */
  eofReceived(): boolean | void {}
}

/** A UDP protocol. */
export class DatagramProtocol extends BaseProtocol {
  override connectionMade(_transport: DatagramTransport): void {}
  datagramReceived(_data: Buffer, _addr: [string, number]): void {}
  /** A send or receive failed (e.g. ECONNREFUSED on a connected socket). */
  errorReceived(_error: Error): void {}
}

/** A subprocess protocol, as used by `loop.subprocessExec`. */
export class SubprocessProtocol extends BaseProtocol {
  override connectionMade(_transport: SubprocessTransport): void {}
  /** Data arrived on the child's stdout (fd 1) or stderr (fd 2). */
  pipeDataReceived(_fd: number, _data: Buffer): void {}
  /** One of the child's pipes closed: after its last `pipeDataReceived`. */
  pipeConnectionLost(_fd: number, _error: Error | null): void {}
  /** The child exited: after every `pipeConnectionLost`. */
  processExited(): void {}
}
