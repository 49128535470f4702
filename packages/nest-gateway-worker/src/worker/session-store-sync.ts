import { Logger } from '@nestjs/common';
import { RateLimitedWarning } from '../logging/rate-limited-warning';
import { decodeClientId, gatewayAddress } from '../protocol/client-id';
import { Cmd } from '../protocol/command';
import { encodeFrame, frame } from '../protocol/frame';
import { mergeSession } from '../protocol/session-json';
import type { ClientSession, GatewayClient } from '../client/gateway-client';
import type { GatewaySender } from './gateway-sender';
import type { LiveSessionLookup } from './live-sessions';
import type { SessionStore } from './session-store';

/** What {@link SessionStoreSync} needs from the worker. */
export interface SessionStoreSyncOptions {
  store: SessionStore;
  /** The live `@Session()` objects of the handlers running in this worker, by client_id (SessionWriteBack.live). */
  live: LiveSessionLookup;
  /** The worker's links: a loaded session is merged into the client's session on its gateway (UpdateSession). */
  gateways: GatewaySender;
  /** The worker's GatewayClient: reads a client's uid and session back (for saves outside its handlers). */
  client: Pick<GatewayClient, 'getUidByClientId' | 'getSession'>;
  /** Clock for the rate limit of warnings (tests set it). */
  now?: () => number;
}

/**
 * Keeps a worker's client sessions and its {@link SessionStore} in step (see SessionStore for the rules). Created
 * only when a store is configured, so a worker without one pays nothing. Never throws: store failures are logged.
 */
export class SessionStoreSync {
  private readonly store: SessionStore;
  /** Uids bound through this worker while a handler of that client was running, by client_id. */
  private readonly boundDuringHandler = new Map<string, string>();
  /** Rate-limited (a store that is down must not flood the log); never names the uid or the session's content. */
  private readonly warning: RateLimitedWarning;

  constructor(private readonly options: SessionStoreSyncOptions) {
    this.store = options.store;
    this.warning = new RateLimitedWarning(
      new Logger('SessionStore'),
      (n) => `${n} more store failure(s) since the last warning`,
      options.now,
    );
  }

  /**
   * A uid was bound to the client through this worker's GatewayClient: merges the uid's stored session into the
   * client's session (the live handler object and the gateway). Resolves once merged (or the load failed).
   */
  async uidBound(clientId: string, uid: string): Promise<void> {
    if (this.options.live.get(clientId)) this.boundDuringHandler.set(clientId, uid);
    let stored: Record<string, unknown> | null;
    try {
      stored = await this.store.load(uid);
    } catch (err) {
      return this.warning.warn(`load of a session failed: ${(err as Error)?.message ?? String(err)}`);
    }
    if (stored === null || stored === undefined) return;
    if (typeof stored !== 'object' || Array.isArray(stored)) {
      return this.warning.warn('load returned something that is not a session object; ignored');
    }
    const live = this.options.live.get(clientId);
    if (live) Object.assign(live, mergeSession(live, stored));
    this.updateOnGateway(clientId, stored);
  }

  /**
   * Merges `patch` into the client's session on its gateway: a raw UpdateSession on the worker's link, not
   * GatewayClient.updateSession, which would merge into the live object again and report a session write.
   */
  private updateOnGateway(clientId: string, patch: ClientSession): void {
    const target = decodeClientId(clientId);
    this.options.gateways.send(
      gatewayAddress(target),
      encodeFrame(
        frame({ cmd: Cmd.UpdateSession, connectionId: target.connectionId, ext: Buffer.from(JSON.stringify(patch)) }),
      ),
    );
  }

  /**
   * A handler of the client finished and its session changed: saves it for the client's uid (the one its event
   * carried, or one bound during the handler). Always forgets the handler's bound uid.
   */
  handlerFinished(clientId: string, eventUid: string | undefined, session: ClientSession | null): void {
    const bound = this.boundDuringHandler.get(clientId);
    if (bound !== undefined) this.boundDuringHandler.delete(clientId);
    const uid = bound ?? eventUid;
    if (session && uid !== undefined) this.save(uid, session);
  }

  /**
   * setSession / updateSession went to the client's gateway through this worker's GatewayClient. Inside one of
   * that client's handlers the handler's write-back saves it; otherwise the uid and the resulting session are read
   * back from the gateway and saved (best effort: a write racing this one may be saved instead).
   */
  sessionWritten(clientId: string): void {
    if (this.options.live.get(clientId)) return;
    void this.readFromGateway(clientId).then(
      ({ uid, session }) => {
        if (uid !== null && session) this.save(uid, session);
      },
      (err: unknown) =>
        this.warning.warn(`reading a session back for the store failed: ${(err as Error)?.message ?? String(err)}`),
    );
  }

  private async readFromGateway(clientId: string): Promise<{ uid: string | null; session: ClientSession | null }> {
    const { client } = this.options;
    const [uid, session] = await Promise.all([client.getUidByClientId(clientId), client.getSession(clientId)]);
    return { uid, session };
  }

  private save(uid: string, session: ClientSession): void {
    let saving: Promise<void>;
    try {
      // A copy: the store must not see later changes the handler's object may still get.
      saving = Promise.resolve(this.store.save(uid, JSON.parse(JSON.stringify(session)) as ClientSession));
    } catch (err) {
      saving = Promise.reject(err);
    }
    saving.catch((err: unknown) =>
      this.warning.warn(`save of a session failed: ${(err as Error)?.message ?? String(err)}`),
    );
  }
}
