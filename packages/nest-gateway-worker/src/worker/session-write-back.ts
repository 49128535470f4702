import type { ClientSession, LocalSessions } from '../client/gateway-client';
import { Cmd } from '../protocol/command';
import { encodeFrame, frame } from '../protocol/frame';
import type { GatewaySender } from './gateway-sender';
import { LiveSessions } from './live-sessions';
import type { SessionStoreSync } from './session-store-sync';

/** One handled event as the write-back sees it (the event runner's per-event state has these fields). */
export interface HandledSession {
  readonly clientId: string;
  readonly gatewayAddress: string;
  readonly connectionId: number;
  /** The `@Session()` object the handler received (and may have changed in place). */
  readonly session: ClientSession;
  /** {@link sessionJson} of {@link session} before the handler ran. */
  readonly sessionBefore: string;
  /** The uid the event carried (bound on the gateway when the event left it). */
  readonly uid: string | undefined;
}

/**
 * PHP `$_SESSION` semantics on a worker: the `@Session()` objects of the handlers running now, and what happens
 * to them when a handler ends (SetSession to the gateway when it changed; the session store, if configured).
 *
 * It is also the worker GatewayClient's {@link LocalSessions}: setSession/updateSession/bindUid on a client whose
 * handler is running here change that handler's live object, and reach the session store. So GatewayClient talks
 * to this object, and SessionStoreSync (which reads back through GatewayClient) is owned by it; the transport only
 * builds them.
 */
export class SessionWriteBack implements LocalSessions {
  /** The `@Session()` objects of the handlers running now, by client_id (SessionStoreSync reads them too). */
  readonly live = new LiveSessions();
  /** Only with a session store configured (WorkerOptions.sessionStore): otherwise sessions cost nothing more. */
  private store: SessionStoreSync | null = null;

  constructor(private readonly gateways: GatewaySender) {}

  /**
   * Keeps sessions in step with `store` from now on. Set once, right after construction: the store reads back
   * through the GatewayClient that is itself built with this object.
   */
  saveTo(store: SessionStoreSync): void {
    this.store = store;
  }

  // ---- LocalSessions: the hooks GatewayClient calls --------------------------------------------------------

  /** The live session of a client whose handler is running in this worker. */
  activeSession(clientId: string): ClientSession | undefined {
    return this.live.get(clientId);
  }

  /** A uid was bound through this worker's GatewayClient (session store: load and merge). */
  async uidBound(clientId: string, uid: string): Promise<void> {
    if (this.store) await this.store.uidBound(clientId, uid);
  }

  /** A session was written through this worker's GatewayClient (session store: save). */
  sessionWritten(clientId: string): void {
    this.store?.sessionWritten(clientId);
  }

  // ---- one event's session -----------------------------------------------------------------------------------

  /** A handler of the client starts with `session` as its `@Session()` object. */
  handlerStarted(clientId: string, session: ClientSession): void {
    this.live.set(clientId, session);
  }

  /** The handler of the client ended, however (before its write-back). */
  handlerEnded(clientId: string): void {
    this.live.delete(clientId);
  }

  /**
   * The end of an event that was handled (or found no handler): SetSession to the gateway when the session
   * changed, and the store's save. Returns the JSON written back, or null when nothing changed.
   */
  writeBack(event: HandledSession): string | null {
    // Compared as JSON every time: a handler may have mutated the session object in place.
    const after = sessionJson(event.session);
    const changed = after !== event.sessionBefore;
    if (changed) {
      this.gateways.send(
        event.gatewayAddress,
        encodeFrame(frame({ cmd: Cmd.SetSession, connectionId: event.connectionId, ext: Buffer.from(after) })),
      );
    }
    this.store?.handlerFinished(event.clientId, event.uid, changed ? event.session : null);
    return changed ? after : null;
  }

  /** The end of a client's close event: its session is final, nothing is written back. */
  clientClosed(clientId: string, uid: string | undefined): void {
    this.store?.handlerFinished(clientId, uid, null);
  }

  /** The end of an event whose handler rejected the client: it is going away, so its session is neither written back nor saved. */
  clientRejected(clientId: string): void {
    this.store?.handlerFinished(clientId, undefined, null);
  }
}

/** JSON of a session; the empty object (the common case: no session yet) without JSON.stringify. */
export function sessionJson(session: ClientSession): string {
  for (const _ in session) return JSON.stringify(session);
  return '{}';
}
