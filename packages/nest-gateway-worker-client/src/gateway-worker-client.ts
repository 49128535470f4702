import { CloseCode, isReconnectable } from './close-codes.js';
import { CLIENT_PING, CLIENT_PONG, REPLY_DATA_FIELD, REQUEST_ID_FIELD } from './conventions.js';
import { ConnectionClosedError, NotConnectedError } from './errors.js';
import { Listeners } from './listeners.js';
import { checkLivenessOptions, LivenessWatch, type LivenessOptions } from './liveness.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, PendingRequests } from './pending-requests.js';
import { ReconnectBackoff, type BackoffOptions } from './reconnect-backoff.js';
import { ResumeOffsetTracker, type ResumeOffset, type ResumeOptions } from './resume.js';
import type {
  ClientSchema,
  ReceivedMessage,
  ReceivedType,
  RequestMessage,
  RequestType,
  ResponseOf,
  SentMessage,
} from './schema.js';
import { clearTimer, reportError, setTimer, type TimerHandle } from './timers.js';
import {
  OPEN,
  webSocketClass,
  type CloseEventLike,
  type MessageEventLike,
  type WebSocketConstructor,
  type WebSocketLike,
} from './websocket.js';

/** A connection attempt that has not opened after this long is given up (and retried, with the backoff) (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Where the client is: not started, opening a connection, open, waiting to reconnect, or closed for good. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The lifecycle hooks (`client.hook(name, callback)`, or `hooks` in the options). */
export interface ClientHooks {
  /** A connection attempt starts (`attempt` counts from 1 since the last open connection). */
  connecting: { attempt: number; url: string };
  /** A connection opened; `reconnected` is true for every one after the first (e.g. to join a room again). */
  connected: { attempt: number; url: string; reconnected: boolean };
  /**
   * A connection or an attempt ended: the close code and reason (1006 and a reason of the client's own when the
   * network lost it, an attempt timed out or the liveness check found the link dead), whether it had opened, and
   * whether the client will reconnect.
   */
  disconnected: { code: number; reason: string; wasOpen: boolean; willReconnect: boolean };
  /** A reconnect is scheduled `delayMs` from now; `attempt` is the attempt it will be. */
  reconnecting: { delayMs: number; attempt: number };
  /** An application callback (a message handler or a hook) threw. */
  error: { error: unknown; during: string };
}

export interface ReconnectOptions extends BackoffOptions {
  /**
   * Whether to reconnect after a close (default: {@link isReconnectable}: 1001, 1006, 1012, 1013, 1014, 4008, 4009,
   * 4010).
   * Called for every close the client did not ask for.
   */
  shouldReconnect?: (close: { code: number; reason: string }) => boolean;
}

export interface GatewayWorkerClientOptions {
  /** The WebSocket class: required where there is no global one (Node before 22: `WebSocket` from `ws`). */
  WebSocket?: WebSocketConstructor;
  /** WebSocket subprotocols to offer. */
  protocols?: string | string[];
  /** Reconnect after reconnectable closes (default true), with these backoff settings. */
  reconnect?: boolean | ReconnectOptions;
  /** Ping the gateway when the link is quiet and reconnect when it does not answer (default true). */
  liveness?: boolean | LivenessOptions;
  /** Time a connection attempt has to open (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** Default timeout of `request()` (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** Keep the last `$offset` of pushed messages and send it when connecting again (off by default). */
  resume?: boolean | ResumeOptions;
  /** Lifecycle hooks, as with `client.hook(name, callback)`. */
  hooks?: { [K in keyof ClientHooks]?: (event: ClientHooks[K]) => void };
}

/** Message callbacks: by type, every JSON object, other text, binary. */
interface MessageEvents {
  [type: string]: unknown;
}

interface OtherEvents {
  message: Record<string, unknown>;
  text: string;
  binary: ArrayBuffer;
}

/**
 * A client of nest-gateway-worker gateways for browsers and Node: typed messages by their `type`, request/response
 * with the worker's handlers, reconnects with backoff after the closes that call for it, a liveness check that a
 * browser can run, and an optional resume offset. See the README's "Browser client".
 *
 * ```ts
 * const client = new GatewayWorkerClient('ws://127.0.0.1:7272');
 * client.on('say', (m) => console.log(m.content));
 * client.hook('reconnecting', ({ delayMs }) => showBanner(delayMs));
 * await client.connect();
 * const welcome = await client.request({ type: 'login', name: 'Ann', room: 'lobby' });
 * client.send({ type: 'say', content: 'hi' });
 * ```
 */
export class GatewayWorkerClient<S extends ClientSchema = ClientSchema> {
  private readonly WebSocket: WebSocketConstructor;
  private readonly protocols: string | string[] | undefined;
  private readonly backoff: ReconnectBackoff | null;
  private readonly shouldReconnect: (close: { code: number; reason: string }) => boolean;
  private readonly liveness: { intervalMs: number; timeoutMs: number } | null;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly resume: ResumeOffsetTracker | null;
  private readonly requests = new PendingRequests();
  private readonly hooks: Listeners<ClientHooks>;
  private readonly byType: Listeners<MessageEvents>;
  private readonly other: Listeners<OtherEvents>;

  private currentState: ClientState = 'idle';
  private socket: WebSocketLike | null = null;
  private socketOpen = false;
  private socketUrl = '';
  private watch: LivenessWatch | null = null;
  private connectTimer: TimerHandle | null = null;
  private reconnectTimer: TimerHandle | null = null;
  /** Attempts since the last open connection. */
  private attempt = 0;
  private everConnected = false;
  private waiters: { resolve(): void; reject(error: Error): void }[] = [];

  constructor(
    private readonly url: string | (() => string),
    options: GatewayWorkerClientOptions = {},
  ) {
    this.WebSocket = webSocketClass(options.WebSocket);
    this.protocols = options.protocols;
    const reconnect = options.reconnect ?? true;
    this.backoff = reconnect === false ? null : new ReconnectBackoff(reconnect === true ? {} : reconnect);
    this.shouldReconnect =
      (typeof reconnect === 'object' && reconnect.shouldReconnect) || ((close) => isReconnectable(close.code));
    const liveness = options.liveness ?? true;
    this.liveness = liveness === false ? null : checkLivenessOptions(liveness === true ? {} : liveness);
    this.connectTimeoutMs = positive(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs');
    this.requestTimeoutMs = positive(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeoutMs');
    const resume = options.resume ?? false;
    this.resume = resume === false ? null : new ResumeOffsetTracker(resume === true ? {} : resume);
    const failed = (during: string) => (error: unknown) => this.hooks.emit('error', { error, during });
    this.hooks = new Listeners<ClientHooks>((error, key) => {
      if (key === 'error') reportError('nest-gateway-worker-client: the error hook threw', error);
      else failed(`the ${String(key)} hook`)(error);
    });
    this.byType = new Listeners<MessageEvents>((error, type) => failed(`the "${String(type)}" handler`)(error));
    this.other = new Listeners<OtherEvents>((error, key) => failed(`the ${String(key)} handler`)(error));
    const given = options.hooks ?? {};
    for (const name of Object.keys(given) as (keyof ClientHooks)[]) {
      const callback = given[name] as ((event: ClientHooks[keyof ClientHooks]) => void) | undefined;
      if (callback) this.hooks.add(name, callback);
    }
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** Whether a connection is open now (send and request work). */
  get connected(): boolean {
    return this.currentState === 'open';
  }

  /** The last resume offset received (or the one given), when resume is on. */
  get offset(): ResumeOffset | undefined {
    return this.resume?.offset;
  }

  /** The last resume offset of each stream (`$stream` / `$offsets` of pushed messages), when resume is on. */
  get offsets(): Record<string, ResumeOffset> {
    return this.resume?.offsets ?? {};
  }

  /**
   * Starts connecting (if not started) and resolves once a connection is open; rejects with ConnectionClosedError if
   * the client stops first (a close it does not reconnect after, or `close()`). With reconnects on, a gateway that is
   * not up yet is retried until it is. May be called again after `close()` to start over.
   */
  connect(): Promise<void> {
    if (this.currentState === 'open') return Promise.resolve();
    const opened = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      this.backoff?.reset();
      this.attempt = 0;
      this.open();
    }
    return opened;
  }

  /**
   * Closes the connection (1000 by default; 3000-4999 are the application's codes) and stops reconnecting; requests
   * in flight reject. Emits `disconnected` when a connection or attempt was under way.
   */
  close(code: number = CloseCode.NORMAL, reason = ''): void {
    const socket = this.socket;
    if (socket) {
      const wasOpen = this.socketOpen;
      socket.close(code, reason); // first: a code or reason the WebSocket refuses throws and changes nothing
      this.detach();
      this.ended(code, reason, wasOpen, false);
    } else if (this.currentState === 'reconnecting') {
      this.stop(code, reason);
    }
  }

  /** Calls `handler` with every JSON message of this `type`; returns the function that removes it. */
  on<K extends ReceivedType<S>>(type: K, handler: (message: ReceivedMessage<S, K>) => void): () => void {
    return this.byType.add(type, handler as (message: unknown) => void);
  }

  /** Every JSON object message the server sends (replies and pongs excepted), whatever its type, after `on` handlers. */
  onMessage(handler: (message: Record<string, unknown>) => void): () => void {
    return this.other.add('message', handler);
  }

  /** Text messages that are not JSON objects. */
  onText(handler: (text: string) => void): () => void {
    return this.other.add('text', handler);
  }

  /** Binary messages, as ArrayBuffers. */
  onBinary(handler: (data: ArrayBuffer) => void): () => void {
    return this.other.add('binary', handler);
  }

  /** Adds a lifecycle hook; returns the function that removes it. */
  hook<K extends keyof ClientHooks>(name: K, callback: (event: ClientHooks[K]) => void): () => void {
    return this.hooks.add(name, callback);
  }

  /** Sends a JSON message; false (and nothing sent) when no connection is open. */
  send(message: SentMessage<S>): boolean {
    return this.sendRaw(JSON.stringify(message));
  }

  /** Sends a text message as it is; false when no connection is open. */
  sendText(text: string): boolean {
    return this.sendRaw(text);
  }

  /** Sends a binary message; false when no connection is open. */
  sendBinary(data: ArrayBuffer | ArrayBufferView): boolean {
    return this.sendRaw(data);
  }

  /**
   * Sends `message` as a request and resolves with what the worker's `@OnClientMessage(type)` handler returns
   * (undefined when it returns nothing). Rejects with RequestError (the handler failed: e.g. the validation message),
   * RequestTimeoutError, NotConnectedError (no connection open now) or ConnectionClosedError (it ended first).
   */
  request<K extends RequestType<S>>(
    message: RequestMessage<S, K>,
    options: { timeoutMs?: number } = {},
  ): Promise<ResponseOf<S, K>> {
    const socket = this.socket;
    if (this.currentState !== 'open' || !socket) return Promise.reject(new NotConnectedError(this.currentState));
    // Closing already (the peer's close frame arrived, its close event has not): a send would be dropped.
    if (socket.readyState !== OPEN) return Promise.reject(new NotConnectedError('closing'));
    const type = String((message as { type?: unknown }).type);
    const { id, reply } = this.requests.open(type, options.timeoutMs ?? this.requestTimeoutMs);
    socket.send(JSON.stringify({ ...(message as object), [REQUEST_ID_FIELD]: id }));
    return reply as Promise<ResponseOf<S, K>>;
  }

  // ---- the connection ---------------------------------------------------------------------------------------

  private sendRaw(data: string | ArrayBuffer | ArrayBufferView): boolean {
    const socket = this.socket;
    if (this.currentState !== 'open' || !socket || socket.readyState !== OPEN) return false;
    socket.send(data);
    return true;
  }

  private currentUrl(): string {
    const url = typeof this.url === 'function' ? this.url() : this.url;
    return this.resume ? this.resume.urlFor(url) : url;
  }

  private open(): void {
    this.reconnectTimer = null;
    this.attempt++;
    this.currentState = 'connecting';
    let url = '';
    let socket: WebSocketLike;
    try {
      url = this.currentUrl();
      this.hooks.emit('connecting', { attempt: this.attempt, url });
      socket = new this.WebSocket(url, this.protocols);
    } catch (error) {
      // A malformed URL: no attempt can succeed.
      return this.stop(CloseCode.ABNORMAL, `cannot connect to ${url || 'the URL'}: ${(error as Error).message}`);
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    this.socketOpen = false;
    this.socketUrl = url;
    this.connectTimer = setTimer(
      () => this.lost(socket, CloseCode.ABNORMAL, `connect timeout (${this.connectTimeoutMs} ms)`),
      this.connectTimeoutMs,
    );
    // The listeners stay on a socket the client has let go of; they check that it is still the current one.
    socket.addEventListener('open', () => this.opened(socket));
    socket.addEventListener('message', (event: MessageEventLike) => {
      if (socket === this.socket) this.received(event.data);
    });
    socket.addEventListener('close', (event: CloseEventLike) => this.lost(socket, event.code, event.reason ?? ''));
    // An error event is followed by a close event, which says what happened.
    socket.addEventListener('error', () => undefined);
  }

  private opened(socket: WebSocketLike): void {
    if (socket !== this.socket) return;
    clearTimer(this.connectTimer);
    this.connectTimer = null;
    this.socketOpen = true;
    this.currentState = 'open';
    this.backoff?.reset();
    const attempt = this.attempt;
    this.attempt = 0;
    if (this.liveness) {
      const { intervalMs, timeoutMs } = this.liveness;
      this.watch = new LivenessWatch(
        intervalMs,
        timeoutMs,
        () => this.sendRaw(CLIENT_PING),
        () => this.lost(socket, CloseCode.ABNORMAL, `liveness timeout (no answer to a ping within ${timeoutMs} ms)`),
      );
      this.watch.start();
    }
    const reconnected = this.everConnected;
    this.everConnected = true;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    this.hooks.emit('connected', { attempt, url: this.socketUrl, reconnected });
  }

  /** The current connection (or attempt) ended without the application asking: closed, timed out or found dead. */
  private lost(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    const wasOpen = this.socketOpen;
    this.detach();
    // Found dead or timed out: let the socket go at once (ws can drop it; a browser closes it in the background).
    if (socket.readyState <= OPEN) {
      if (socket.terminate) socket.terminate();
      else socket.close();
    }
    const willReconnect = this.backoff !== null && this.shouldReconnect({ code, reason });
    this.ended(code, reason, wasOpen, willReconnect);
  }

  /** Lets go of the current socket: timers, liveness, and requests in flight are settled by `ended`. */
  private detach(): void {
    this.socket = null;
    this.socketOpen = false;
    clearTimer(this.connectTimer);
    this.connectTimer = null;
    this.watch?.stop();
    this.watch = null;
  }

  /** After a connection or attempt ended: settle what waited on it, tell the hooks, and reconnect or stop. */
  private ended(code: number, reason: string, wasOpen: boolean, willReconnect: boolean): void {
    if (willReconnect) {
      this.currentState = 'reconnecting';
      this.requests.failAll(new ConnectionClosedError(code, reason));
    } else {
      this.stop(code, reason);
    }
    this.hooks.emit('disconnected', { code, reason, wasOpen, willReconnect });
    // Unless a hook closed the client meanwhile (or, once stopped, started it again).
    if (!willReconnect || this.currentState !== 'reconnecting' || !this.backoff) return;
    const delayMs = this.backoff.next();
    this.reconnectTimer = setTimer(() => this.open(), delayMs);
    this.hooks.emit('reconnecting', { delayMs, attempt: this.attempt + 1 });
  }

  /** Closed for good: no reconnect; requests in flight and `connect()` calls waiting reject. */
  private stop(code: number, reason: string): void {
    clearTimer(this.reconnectTimer);
    this.reconnectTimer = null;
    this.currentState = 'closed';
    const error = new ConnectionClosedError(code, reason);
    this.requests.failAll(error);
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  // ---- messages in ------------------------------------------------------------------------------------------

  private received(data: unknown): void {
    this.watch?.received();
    if (typeof data === 'string') return this.receivedText(data);
    if (data instanceof ArrayBuffer) return this.other.emit('binary', data);
    if (ArrayBuffer.isView(data)) {
      // A WebSocket class that ignores binaryType (e.g. Buffers): a copy of exactly its bytes.
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      return this.other.emit('binary', bytes.slice().buffer);
    }
  }

  private receivedText(text: string): void {
    if (text === CLIENT_PONG) return;
    if (text.charCodeAt(0) === 0x7b /* { */) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        return this.receivedObject(parsed as Record<string, unknown>, text);
    }
    this.other.emit('text', text);
  }

  private receivedObject(message: Record<string, unknown>, text: string): void {
    const id = message[REQUEST_ID_FIELD];
    // A reply envelope: settles its request, or is dropped when it comes after the request timed out. Positions in
    // its data (e.g. a login's welcome carrying `$offsets` after a recovery) are kept like a pushed message's.
    if (id !== undefined && (this.requests.answer(id, message) || this.requests.issued(id))) {
      const data = message[REPLY_DATA_FIELD];
      if (this.resume && typeof data === 'object' && data !== null && !Array.isArray(data))
        this.resume.received(data as Record<string, unknown>);
      return;
    }
    // A duplicate (the same `$offset` and text again: a replay that raced live delivery) is dropped.
    if (this.resume && !this.resume.received(message, text)) return;
    const type = message.type;
    if (typeof type === 'string') this.byType.emit(type, message);
    this.other.emit('message', message);
  }
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  return value;
}
