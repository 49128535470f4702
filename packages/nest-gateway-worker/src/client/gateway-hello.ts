import { Cmd } from '../protocol/command';
import { encodeFrame, frame } from '../protocol/frame';

/**
 * Who the links of one GatewayLinkPool say they are to every gateway, and how the pool names itself in the log.
 * A worker (WorkerConnect with its key: the gateway routes client events to it) and an SDK client
 * (GatewayClientConnect: commands and requests only) differ only in this value, so the pool has no role switch.
 */
export interface GatewayHello {
  /** The encoded first frame of every link; it leaves as soon as the handshake completes. */
  readonly frame: Buffer;
  /** Unique per process and pool ("name:pid-n"): a gateway replaces an older worker link with the same key. */
  readonly key: string;
  /** Logger context of the pool and of its register client: "Worker" or "GatewayClient". */
  readonly logContext: string;
  /**
   * Logged, followed by the gateway's address, when a link opens: "Worker connected to gateway" for a worker
   * (operators, the launcher and the e2e suite wait for that line), "connected to gateway" for an SDK client.
   */
  readonly connectedMessage: string;
}

let pools = 0;

/** A worker's hello, with what the worker announces about its handlers. */
export interface WorkerHello extends GatewayHello {
  /**
   * The worker has an `@OnDeadLetter()` handler: WorkerConnect says `"dead_letters": true`, and gateways send it
   * dead letters. Set before the links start (the handlers are known when the transport listens).
   */
  deadLetters: boolean;
}

/**
 * The hello of a worker's links: WorkerConnect with a key made of the worker's name, the pid and a counter, and
 * `"dead_letters": true` once {@link WorkerHello.deadLetters} is set.
 */
export function workerHello(name: string): WorkerHello {
  const key = `${name}:${process.pid}-${++pools}`;
  return {
    get frame(): Buffer {
      const body = this.deadLetters ? { worker_key: key, dead_letters: true } : { worker_key: key };
      return encodeFrame(frame({ cmd: Cmd.WorkerConnect, body: Buffer.from(JSON.stringify(body)) }));
    },
    deadLetters: false,
    key,
    logContext: 'Worker',
    connectedMessage: 'Worker connected to gateway',
  };
}

/** The hello of a standalone GatewayClient's links (GatewayModule.forClient): GatewayClientConnect. */
export function sdkClientHello(): GatewayHello {
  return {
    frame: encodeFrame(frame({ cmd: Cmd.GatewayClientConnect })),
    // Gateways do not use an SDK client's key; it names the pool in this process (the same counter as workers').
    key: `client:${process.pid}-${++pools}`,
    logContext: 'GatewayClient',
    connectedMessage: 'connected to gateway',
  };
}
