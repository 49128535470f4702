import type { ClientSession } from '../client/gateway-client';

/** What readers of the live sessions need (SessionStoreSync, GatewayClient through SessionWriteBack). */
export interface LiveSessionLookup {
  get(clientId: string): ClientSession | undefined;
}

/**
 * The `@Session()` objects of the handlers running now, by client_id: a Map's semantics (set replaces, delete
 * removes, get reads) with one entry held in plain fields. The common case is one handler at a time (a synchronous
 * handler starts and ends within one call), and a Map that gets one entry and loses it again for every event pays a
 * hash of a fresh client_id string and a shrink of its table (a runtime call and a new table) on each delete; the
 * slot costs two stores. Handlers that overlap (async ones of different clients) go to the Map.
 *
 * Invariant: the client in the slot is never also in the Map.
 */
export class LiveSessions implements LiveSessionLookup {
  private slotId: string | null = null;
  private slotSession: ClientSession | undefined = undefined;
  private readonly more = new Map<string, ClientSession>();

  /** Entries held. */
  get size(): number {
    return (this.slotId === null ? 0 : 1) + this.more.size;
  }

  get(clientId: string): ClientSession | undefined {
    if (this.slotId === clientId) return this.slotSession;
    return this.more.size === 0 ? undefined : this.more.get(clientId);
  }

  set(clientId: string, session: ClientSession): void {
    if (this.slotId === clientId || (this.slotId === null && (this.more.size === 0 || !this.more.has(clientId)))) {
      this.slotId = clientId;
      this.slotSession = session;
    } else {
      this.more.set(clientId, session);
    }
  }

  delete(clientId: string): boolean {
    if (this.slotId === clientId) {
      this.slotId = null;
      this.slotSession = undefined;
      return true;
    }
    return this.more.size !== 0 && this.more.delete(clientId);
  }
}
