import { Logger } from '@nestjs/common';
import type { ClientSession } from '../client/gateway-client';
import { Cmd } from '../protocol/command';
import { decodeFrame } from '../protocol/frame';
import type { SessionStore } from './session-store';
import { InMemorySessionStore } from './session-store.memory';
import { SessionStoreSync } from './session-store-sync';

const flush = () => new Promise((r) => setImmediate(r));
/** A client on gateway 127.0.0.1:2000, connection 1 (ids reaching the gateway must be real client_ids). */
const C1 = '7f00000107d000000001';

function setup(store: SessionStore = new InMemorySessionStore()) {
  const active = new Map<string, ClientSession>();
  /** The frames sent to gateways, as [gateway address, connection id, patch]; only UpdateSession is expected. */
  const gatewayUpdates: [string, number, ClientSession][] = [];
  const gateway = new Map<string, { uid: string | null; session: ClientSession | null }>();
  let clock = 0;
  const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  const sync = new SessionStoreSync({
    store,
    live: active,
    gateways: {
      send: (address, bytes) => {
        const f = decodeFrame(bytes);
        expect(f.cmd).toBe(Cmd.UpdateSession);
        gatewayUpdates.push([address, f.connectionId, JSON.parse(f.ext.toString()) as ClientSession]);
        return true;
      },
    },
    // What the worker's GatewayClient answers for these clients.
    client: {
      getUidByClientId: async (id) => gateway.get(id)?.uid ?? null,
      getSession: async (id) => gateway.get(id)?.session ?? null,
    },
    now: () => clock,
  });
  return { sync, store, active, gatewayUpdates, gateway, warn, advance: (ms: number) => (clock += ms) };
}

afterEach(() => jest.restoreAllMocks());

describe('InMemorySessionStore', () => {
  it('stores copies: later changes to the saved or loaded object do not reach the store', async () => {
    const store = new InMemorySessionStore();
    expect(await store.load('u')).toBeNull();
    const session = { a: 1 };
    await store.save('u', session);
    session.a = 2;
    const loaded = (await store.load('u'))!;
    loaded.a = 3;
    expect(await store.load('u')).toEqual({ a: 1 });
    await store.delete('u');
    expect(store.size).toBe(0);
  });
});

describe('SessionStoreSync', () => {
  it('bindUid in a handler: merges the stored session into the live object (stored keys win) and the gateway', async () => {
    const t = setup();
    await t.store.save('u1', { score: 5, nested: { a: 1 } });
    const live: ClientSession = { score: 1, nested: { b: 2 }, kept: true };
    t.active.set(C1, live);
    await t.sync.uidBound(C1, 'u1');
    expect(live).toEqual({ score: 5, nested: { a: 1, b: 2 }, kept: true });
    expect(t.gatewayUpdates).toEqual([['127.0.0.1:2000', 1, { score: 5, nested: { a: 1 } }]]);
  });

  it('nothing stored: nothing merged; the uid bound during the handler gets the session saved after it', async () => {
    const t = setup();
    const live: ClientSession = {};
    t.active.set('c1', live);
    await t.sync.uidBound('c1', 'u1');
    expect(t.gatewayUpdates).toEqual([]);
    live.score = 7;
    t.sync.handlerFinished('c1', undefined, live);
    live.score = 8; // changes after the save are not the store's
    await flush();
    expect(await t.store.load('u1')).toEqual({ score: 7 });
  });

  it("saves under the event's uid; nothing without a uid or without a change", async () => {
    const t = setup();
    t.sync.handlerFinished('c1', 'u2', { x: 1 });
    t.sync.handlerFinished('c2', undefined, { y: 1 });
    t.sync.handlerFinished('c3', 'u3', null);
    await flush();
    expect(await t.store.load('u2')).toEqual({ x: 1 });
    expect((t.store as InMemorySessionStore).size).toBe(1);
  });

  it('a bound uid is forgotten after its handler (the next event carries the uid itself)', async () => {
    const t = setup();
    t.active.set('c1', {});
    await t.sync.uidBound('c1', 'u1');
    t.sync.handlerFinished('c1', undefined, null);
    t.sync.handlerFinished('c1', undefined, { later: true });
    await flush();
    expect(await t.store.load('u1')).toBeNull();
  });

  it("setSession/updateSession outside the client's handlers: reads uid and session back and saves them", async () => {
    const t = setup();
    t.gateway.set('c1', { uid: 'u1', session: { level: 3 } });
    t.sync.sessionWritten('c1');
    t.sync.sessionWritten('c-without-uid');
    await flush();
    expect(await t.store.load('u1')).toEqual({ level: 3 });
    expect((t.store as InMemorySessionStore).size).toBe(1);
    // Inside a handler of that client the handler's write-back saves: no read-back.
    t.active.set('c1', {});
    t.gateway.set('c1', { uid: 'u1', session: { level: 4 } });
    t.sync.sessionWritten('c1');
    await flush();
    expect(await t.store.load('u1')).toEqual({ level: 3 });
  });

  it('a failing store never throws; its failures are logged at most once per 10 s, with a count', async () => {
    const failing: SessionStore = {
      load: () => Promise.reject(new Error('connection refused')),
      save: () => {
        throw new Error('connection refused');
      },
    };
    const t = setup(failing);
    t.active.set('c1', { a: 1 });
    await expect(t.sync.uidBound('c1', 'u1')).resolves.toBeUndefined();
    expect(t.active.get('c1')).toEqual({ a: 1 });
    t.sync.handlerFinished('c1', 'u1', { a: 2 });
    t.sync.handlerFinished('c1', 'u1', { a: 3 });
    await flush();
    expect(t.warn).toHaveBeenCalledTimes(1);
    expect(t.warn).toHaveBeenCalledWith('load of a session failed: connection refused');
    t.advance(10_000);
    t.sync.handlerFinished('c1', 'u1', { a: 4 });
    await flush();
    expect(t.warn).toHaveBeenCalledTimes(2);
    expect(t.warn).toHaveBeenLastCalledWith(
      'save of a session failed: connection refused (2 more store failure(s) since the last warning)',
    );
  });

  it('ignores a stored value that is not a session object', async () => {
    const t = setup({ load: async () => [1, 2] as unknown as ClientSession, save: async () => undefined });
    const live: ClientSession = { a: 1 };
    t.active.set(C1, live);
    await t.sync.uidBound(C1, 'u1');
    expect(live).toEqual({ a: 1 });
    expect(t.gatewayUpdates).toEqual([]);
    expect(t.warn).toHaveBeenCalledWith('load returned something that is not a session object; ignored');
  });
});
