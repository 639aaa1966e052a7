/**
 * The green side of a worker's channel: how a green thread calls the hub
 * and blocks for the reply.
 *
 * A call sends an operation up the channel's pipe (pipe.ts) and rings the
 * hub's doorbell (doorbell.ts), then takes messages from the pipe coming
 * down until its reply comes. Between looks it spins briefly (spin.ts),
 * then parks in `Atomics.wait` on the reply counter the hub bumps after
 * sending each reply. Messages that are not the reply are
 * data pushed by the hub ahead of a request: they go to the handler
 * registered for their kind (`onPush`), in order, before the reply is
 * returned.
 *
 * Guarantees: a call returns only its own reply (stale replies of calls
 * interrupted on the hub side are dropped); an error reply is thrown as the
 * error's own class; a hub that closes wakes every parked call with
 * HubClosedError; nothing here blocks without a way out.
 */
// The module's binding, not the global: `globalThis.performance` is a lazy accessor, run on every use.
import { performance } from 'node:perf_hooks';
import type { MessagePort } from 'node:worker_threads';
import { RuntimeError } from '../../loop/errors.js';
import { decodeError, decodeValue, encodeArgs, encodeError, encodeValue, type EncodedError } from './codec.js';
import { ringDoorbell, type ReadyBit } from './doorbell.js';
import { HubClosedError } from './errors.js';
import { channelEnds, type PipeReceiver, type PipeSender } from './pipe.js';
import {
  CTL_HUB,
  CTL_PARKED,
  CTL_REPLY,
  HUB_CLOSED,
  type DoneMessage,
  type HubToWorker,
  type ReplyMessage,
  type WorkerToHub,
} from './protocol.js';
import { SpinPolicy } from './spin.js';

/** Options of a blocking call to the hub. */
export interface CallOptions {
  /**
   * Seconds after which the hub gives up on the operation and the call
   * throws TimeoutError (the hub cancels the operation's Future). None by default.
   */
  timeout?: number;
  /** False for operations known to take long: park at once instead of spinning. */
  spin?: boolean;
  /** URL of the module that registers the operation's handler, so a hub that lacks it can load it. */
  module?: string;
}

export type PushHandler = (payload: unknown) => void;

export class Channel {
  private seq = 0;
  private calling = false;
  private readonly pushHandlers = new Map<string, PushHandler>();
  private readonly spinPolicy: SpinPolicy;
  private readonly sender: PipeSender;
  private readonly receiver: PipeReceiver;

  /**
   * `port` and `rings` carry the messages (pipe.ts), `ctl` is this
   * thread's control buffer, `shared` its pool's spin settings and
   * doorbell, `ready` its bit in the doorbell's ready map (null: none).
   */
  constructor(
    port: MessagePort,
    rings: SharedArrayBuffer,
    private readonly ctl: Int32Array,
    private readonly shared: Int32Array,
    private readonly ready: ReadyBit | null = null,
  ) {
    this.spinPolicy = new SpinPolicy(shared);
    ({ sender: this.sender, receiver: this.receiver } = channelEnds(rings, port, 'green'));
  }

  /** Runs operation `op` on the hub and blocks until it replies; returns its result or throws its error. */
  call(op: string, args: readonly unknown[], options: CallOptions = {}): unknown {
    if (this.calling) {
      throw new RuntimeError(`green call ${op}() made while another one is blocked (from a push handler?)`);
    }
    this.checkHubOpen();
    const seq = ++this.seq;
    const message: { s: number; o: string; a: readonly unknown[]; t?: number; m?: string } = {
      s: seq,
      o: op,
      a: encodeArgs(args),
    };
    if (options.timeout !== undefined) message.t = options.timeout;
    if (options.module !== undefined) message.m = options.module;
    const observed = Atomics.load(this.ctl, CTL_REPLY);
    this.post(message, op);
    this.calling = true;
    let reply: ReplyMessage;
    try {
      reply = this.waitForReply(seq, op, observed, options.spin !== false);
    } finally {
      this.calling = false;
    }
    if (!reply.ok) throw decodeError(reply.v as EncodedError);
    return decodeValue(reply.v);
  }

  /** Posts operation `op` without waiting: for operations that need no answer. */
  send(op: string, args: readonly unknown[], module?: string): void {
    this.checkHubOpen();
    const a = encodeArgs(args);
    this.post(module === undefined ? { s: 0, o: op, a } : { s: 0, o: op, a, m: module }, op);
  }

  /** Reports the outcome of job `id` (the green function returned, or threw). */
  done(id: number, ok: boolean, value: unknown): void {
    try {
      this.sendUp({ d: id, ok, v: ok ? encodeValue(value) : encodeError(value) } satisfies DoneMessage);
    } catch (error) {
      // A result that cannot be cloned: report that instead.
      const failure = new TypeError(`the green function's result cannot cross threads: ${describe(error)}`);
      this.sendUp({ d: id, ok: false, v: encodeError(failure) } satisfies DoneMessage);
    }
  }

  /** Tells the hub this worker dropped its handles `ids` of kind `tag`. */
  release(tag: string, ids: readonly (readonly [number, number])[]): void {
    this.sendUp({ x: tag, ids });
  }

  /** Routes data pushed with kind `kind` to `handler` (null removes it). */
  onPush(kind: string, handler: PushHandler | null): void {
    if (handler === null) this.pushHandlers.delete(kind);
    else this.pushHandlers.set(kind, handler);
  }

  /** Delivers the data pushed so far to its handlers, without blocking. */
  drainPushes(): void {
    if (this.calling) return;
    this.takeReply(-1);
  }

  // ---- internals -------------------------------------------------------------

  /**
   * Blocks until the reply to `seq`. `observed` is the reply counter read
   * before the call was posted: any reply to it changes the counter.
   */
  private waitForReply(seq: number, op: string, observed: number, maySpin: boolean): ReplyMessage {
    const ctl = this.ctl;
    const started = performance.now();
    const budget = maySpin ? this.spinPolicy.budget(op) : 0;
    let spun = budget === 0;
    for (;;) {
      if (!spun) {
        spun = true;
        this.spinPolicy.spin(() => Atomics.load(ctl, CTL_REPLY) !== observed, started + budget / 1000, ctl);
      } else if (Atomics.load(ctl, CTL_REPLY) === observed) {
        // PARKED before the wait: a hub that bumps REPLY after reading PARKED
        // as 0 changed it before this wait compares it, so the wait returns at once.
        Atomics.store(ctl, CTL_PARKED, 1);
        Atomics.wait(ctl, CTL_REPLY, observed);
        Atomics.store(ctl, CTL_PARKED, 0);
      }
      // Read the counter before looking: a reply posted after the look
      // changes it again, so the next wait returns at once instead of missing it.
      const current = Atomics.load(ctl, CTL_REPLY);
      const reply = this.takeReply(seq);
      if (reply !== null) {
        this.spinPolicy.record(op, (performance.now() - started) * 1000);
        return reply;
      }
      this.checkHubOpen();
      observed = current;
    }
  }

  /** Takes messages until the reply to `seq`; pushes go to their handlers. */
  private takeReply(seq: number): ReplyMessage | null {
    for (;;) {
      const message = this.receiver.receive() as HubToWorker | undefined;
      if (message === undefined) return null;
      if ('p' in message) {
        this.pushHandlers.get(message.p)?.(decodeValue(message.v));
      } else if (message.r === seq) {
        return message;
      }
      // Any other reply belongs to a call already answered (interrupted): drop it.
    }
  }

  private checkHubOpen(): void {
    if (Atomics.load(this.ctl, CTL_HUB) === HUB_CLOSED) throw new HubClosedError();
  }

  private post(message: WorkerToHub, op: string): void {
    try {
      this.sendUp(message);
    } catch (error) {
      throw new TypeError(`the arguments of ${op}() cannot cross threads: ${describe(error)}`, { cause: error });
    }
  }

  /** Sends `message` to the hub and rings its doorbell. Throws, sending nothing, if it cannot cross. */
  private sendUp(message: WorkerToHub): void {
    this.sender.send(message);
    ringDoorbell(this.shared, this.ready);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
