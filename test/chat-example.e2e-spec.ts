import { GatewayClient, GatewayModule } from 'nest-gateway-worker';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NotifierModule } from '../examples/notifier/notifier.module';
import { NotifierService } from '../examples/notifier/notifier.service';
import { eventually } from './support/eventually';
import { exampleWorkerApi, waitUntilLinked } from './support/example-worker-api';
import { startGateway, startRegister, startWorker, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * The example business app (apps/worker: chat rooms, echo, HTTP push API) and the standalone notifier example
 * (examples/notifier) on a real cluster: one register, two gateways, two example workers, each worker linked to
 * both gateways. Clients sit on both gateways, so every room, uid and query spans the two.
 */

type Msg = Record<string, unknown>;
type Gateway = { proc: RoleProcess; url: string; inner: string };

const CLIENT_ID = /^[0-9a-f]{20}$/;
/** A well-formed client_id of a gateway nobody registered (127.0.0.1, inner port 65535). */
const UNREGISTERED_CLIENT_ID = '7f000001ffff00000001';

/** Text messages a client received, in order. */
function texts(client: TestClient): string[] {
  return client.received.filter((m) => !m.binary).map((m) => m.data.toString('utf8'));
}

/** The JSON-object messages a client received, in order (other texts are left out). */
function jsonMessages(client: TestClient): Msg[] {
  return texts(client).flatMap((t) => {
    try {
      const v: unknown = JSON.parse(t);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? [v as Msg] : [];
    } catch {
      return [];
    }
  });
}

/** The first JSON message matching `expected` (jest's toMatchObject semantics), waiting for it. */
function waitForJson(client: TestClient, expected: Msg, what: string, timeoutMs?: number): Promise<Msg> {
  return client.waitUntilReceived(() => jsonMessages(client).find((m) => matches(m, expected)), what, timeoutMs);
}

function waitForText(client: TestClient, text: string, what: string, timeoutMs?: number): Promise<string> {
  return client.waitUntilReceived(() => texts(client).find((t) => t === text), what, timeoutMs);
}

function matches(actual: Msg, expected: Msg): boolean {
  try {
    expect(actual).toMatchObject(expected);
    return true;
  } catch {
    return false;
  }
}

async function http(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes, read field by field
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the raw text for the failure message
  }
  return { status: res.status, body: parsed };
}

describe('the example worker (chat + HTTP API) and the notifier example on two gateways', () => {
  let register: { proc: RoleProcess; address: string };
  let gwA: Gateway;
  let gwB: Gateway;
  const apis: string[] = [];
  let sdk: INestApplicationContext;
  let gw: GatewayClient;
  let clients: TestClient[] = [];

  beforeAll(async () => {
    register = await startRegister();
    [gwA, gwB] = await Promise.all([startGateway(register.address), startGateway(register.address)]);
    const workers = [
      startWorker(register.address, { WORKER_NAME: 'w1' }),
      startWorker(register.address, { WORKER_NAME: 'w2' }),
    ];
    for (const worker of await Promise.all(workers)) {
      const api = await exampleWorkerApi(worker);
      await waitUntilLinked(api, [gwA.inner, gwB.inner]);
      apis.push(api);
    }
    // A GatewayClient in this process (GatewayModule.forClient), for looking at sessions and counts.
    sdk = await NestFactory.createApplicationContext(
      GatewayModule.forClient({ registers: register.address, secret: TEST_SECRET, rejectOnGatewayFailure: true }),
      { logger: ['error', 'warn'] },
    );
    gw = sdk.get(GatewayClient);
  });

  afterEach(async () => {
    for (const c of clients) c.close();
    clients = [];
    // Every test starts from an empty cluster: wait until both gateways have dropped this test's clients.
    if (gw)
      await eventually(
        () => gw.getAllClientCount(),
        (n) => n === 0,
        'both gateways to have no client left',
      );
  });

  afterAll(async () => {
    await sdk?.close();
    await stopAll();
  });

  async function open(gateway: Gateway): Promise<TestClient> {
    const c = await TestClient.open(gateway.url);
    clients.push(c);
    return c;
  }

  /** Logs in and returns the welcome. */
  async function login(c: TestClient, name: string, room: string, uid?: string): Promise<Msg> {
    c.send(JSON.stringify({ type: 'login', name, room, ...(uid ? { uid } : {}) }));
    return waitForJson(c, { type: 'welcome', room }, `welcome of ${name} to ${room}`);
  }

  it('runs chat rooms across both gateways: login, say to the room, private say, leave, close', async () => {
    const ann = await open(gwA);
    const bob = await open(gwB);
    const cleo = await open(gwB);
    const dan = await open(gwA);

    const annWelcome = await login(ann, 'Ann', 'lobby');
    const annId = annWelcome.client_id as string;
    expect(annId).toMatch(CLIENT_ID);
    expect(annWelcome).toEqual({ type: 'welcome', client_id: annId, room: 'lobby', client_list: { [annId]: 'Ann' } });

    const bobWelcome = await login(bob, 'Bob', 'lobby');
    const bobId = bobWelcome.client_id as string;
    expect(bobId).toMatch(CLIENT_ID);
    expect(bobId.slice(0, 12)).not.toBe(annId.slice(0, 12)); // different gateways (ip + inner port)
    expect(bobWelcome.client_list).toEqual({ [annId]: 'Ann', [bobId]: 'Bob' });
    await waitForJson(ann, { type: 'login', client_id: bobId, client_name: 'Bob' }, 'Ann told of Bob');

    const cleoWelcome = await login(cleo, 'Cleo', 'lobby');
    const cleoId = cleoWelcome.client_id as string;
    expect(cleoWelcome.client_list).toEqual({ [annId]: 'Ann', [bobId]: 'Bob', [cleoId]: 'Cleo' });
    await waitForJson(ann, { type: 'login', client_id: cleoId, client_name: 'Cleo' }, 'Ann told of Cleo');
    await waitForJson(bob, { type: 'login', client_id: cleoId, client_name: 'Cleo' }, 'Bob told of Cleo');

    const danWelcome = await login(dan, 'Dan', 'garden');
    const danId = danWelcome.client_id as string;
    expect(danWelcome.client_list).toEqual({ [danId]: 'Dan' });

    // To the room: every member on both gateways, the sender included.
    ann.send(JSON.stringify({ type: 'say', content: 'hello lobby' }));
    const roomSay = {
      type: 'say',
      from_client_id: annId,
      from_client_name: 'Ann',
      to_client_id: 'all',
      content: 'hello lobby',
    };
    for (const [c, who] of [
      [ann, 'Ann'],
      [bob, 'Bob'],
      [cleo, 'Cleo'],
    ] as const)
      await waitForJson(c, roomSay, `room say at ${who}`);

    // Privately: the target (on the other gateway) and the sender's copy.
    bob.send(JSON.stringify({ type: 'say', content: 'psst', to: annId }));
    const privateSay = {
      type: 'say',
      from_client_id: bobId,
      from_client_name: 'Bob',
      to_client_id: annId,
      content: 'psst',
    };
    await waitForJson(ann, privateSay, 'private say at Ann');
    await waitForJson(bob, privateSay, "Bob's copy of the private say");

    // Markers sent after it: once they have arrived, anything misrouted would have arrived too.
    bob.send(JSON.stringify({ type: 'say', content: 'marker' }));
    for (const [c, who] of [
      [ann, 'Ann'],
      [bob, 'Bob'],
      [cleo, 'Cleo'],
    ] as const) {
      await waitForJson(c, { type: 'say', from_client_id: bobId, content: 'marker' }, `marker at ${who}`);
    }
    dan.send(JSON.stringify({ type: 'say', content: 'garden only' }));
    await waitForJson(
      dan,
      { type: 'say', from_client_id: danId, to_client_id: 'all', content: 'garden only' },
      'Dan hears himself',
    );
    expect(jsonMessages(cleo).filter((m) => m.content === 'psst')).toEqual([]);
    // The other room saw nothing of the lobby, and the lobby nothing of the garden.
    expect(jsonMessages(dan).filter((m) => m.type !== 'welcome' && m.from_client_id !== danId)).toEqual([]);
    for (const c of [ann, bob, cleo]) {
      expect(jsonMessages(c).filter((m) => m.content === 'garden only' || m.client_id === danId)).toEqual([]);
    }

    // Leave: the leaver gets "left", the room (not the leaver) gets "logout".
    cleo.send(JSON.stringify({ type: 'leave' }));
    await waitForJson(cleo, { type: 'left' }, 'left');
    const cleoLogout = { type: 'logout', client_id: cleoId, client_name: 'Cleo' };
    await waitForJson(ann, cleoLogout, 'Ann told Cleo left');
    await waitForJson(bob, cleoLogout, 'Bob told Cleo left');
    expect(jsonMessages(cleo).filter((m) => m.type === 'logout')).toEqual([]);
    // Out of the room now: a say is refused like before login.
    cleo.send(JSON.stringify({ type: 'say', content: 'anyone?' }));
    await waitForJson(cleo, { type: 'error', message: 'login first' }, 'say after leave');

    // Closing a socket tells the room too.
    ann.close();
    await waitForJson(bob, { type: 'logout', client_id: annId, client_name: 'Ann' }, 'Bob told Ann disconnected');
  });

  it('answers validation errors and say-before-login with {type:"error"} on a connection that stays usable; echoes untyped text', async () => {
    const bob = await open(gwA);
    const bobId = (await login(bob, 'Bob', 'lobby')).client_id as string;
    const eve = await open(gwB);

    eve.send(JSON.stringify({ type: 'say', content: 'hi' }));
    await waitForJson(eve, { type: 'error', message: 'login first' }, 'say before login');
    eve.send('just some text');
    expect(await waitForText(eve, 'just some text', 'echo')).toBe('just some text');

    const seen = jsonMessages(eve).length;
    eve.send(JSON.stringify({ type: 'login', room: 'lobby' }));
    const answer = await eve.waitUntilReceived(() => jsonMessages(eve)[seen], 'an answer to a login without a name');
    expect(answer).toEqual({ type: 'error', message: expect.stringContaining('name') });

    // Still usable, and the failed login joined nothing.
    eve.send('still there?');
    await waitForText(eve, 'still there?', 'echo after the error');
    const eveWelcome = await login(eve, 'Eve', 'lobby');
    expect(eveWelcome.client_list).toEqual({ [bobId]: 'Bob', [eveWelcome.client_id as string]: 'Eve' });
    expect(eve.received.every((m) => !m.binary)).toBe(true);
    expect(eve.closeCode).toBeNull();
  });

  it('writes the session back after login: later says carry the name, getSession shows {name, room}', async () => {
    const sam = await open(gwA);
    const sue = await open(gwB);
    const samId = (await login(sam, 'Sam', 'sessions')).client_id as string;
    const sueId = (await login(sue, 'Sue', 'sessions')).client_id as string;

    sam.send(JSON.stringify({ type: 'say', content: 'from sam' }));
    sue.send(JSON.stringify({ type: 'say', content: 'from sue' }));
    for (const c of [sam, sue]) {
      await waitForJson(
        c,
        { type: 'say', from_client_id: samId, from_client_name: 'Sam', content: 'from sam' },
        'say of Sam',
      );
      await waitForJson(
        c,
        { type: 'say', from_client_id: sueId, from_client_name: 'Sue', content: 'from sue' },
        'say of Sue',
      );
    }

    // Read through a GatewayClient of another process (this one), from each gateway.
    expect(await gw.getSession(samId)).toEqual({ name: 'Sam', room: 'sessions' });
    expect(await gw.getSession(sueId)).toEqual({ name: 'Sue', room: 'sessions' });
    expect(await gw.getClientSessionsByGroup('sessions')).toEqual({
      [samId]: { name: 'Sam', room: 'sessions' },
      [sueId]: { name: 'Sue', room: 'sessions' },
    });

    // leave deletes the room from the session; the name stays.
    sue.send(JSON.stringify({ type: 'leave' }));
    await waitForJson(sue, { type: 'left' }, 'left');
    expect(
      await eventually(
        () => gw.getSession(sueId),
        (s) => s !== null && !('room' in s),
        "Sue's session without a room",
      ),
    ).toEqual({ name: 'Sue' });
  });

  it('serves the HTTP API on both workers: online counts, uid lookup, notify, kick, errors', async () => {
    const [api1, api2] = apis;
    const hanaA = await open(gwA);
    const hanaB = await open(gwB);
    const ivo = await open(gwB);
    const anon = await open(gwA); // connected, never logged in
    const hanaAId = (await login(hanaA, 'Hana', 'r1', 'u-hana')).client_id as string;
    const hanaBId = (await login(hanaB, 'Hana (phone)', 'r2', 'u-hana')).client_id as string;
    const ivoId = (await login(ivo, 'Ivo', 'r1', 'u-ivo')).client_id as string;
    anon.send('still here');
    await waitForText(anon, 'still here', 'echo of the anonymous client');

    // Counts across both gateways, the same from either worker.
    for (const api of [api1, api2]) {
      const online = await http(api, 'GET', '/online');
      expect(online).toEqual({ status: 200, body: { clients: 4, uids: 2, groups: { r1: 2, r2: 1 } } });
    }

    const hana = await http(api2, 'GET', '/online/u-hana');
    expect(hana.status).toBe(200);
    expect(hana.body).toEqual({ uid: 'u-hana', online: true, clientIds: expect.any(Array) });
    expect([...(hana.body.clientIds as string[])].sort()).toEqual([hanaAId, hanaBId].sort());
    expect(await http(api1, 'GET', '/online/nobody')).toEqual({
      status: 200,
      body: { uid: 'nobody', online: false, clientIds: [] },
    });

    // notify: a string arrives as text, an object as JSON, at every connection of the uid on both gateways.
    expect(await http(api1, 'POST', '/notify', { uid: 'u-hana', message: 'ping text' })).toEqual({
      status: 200,
      body: { uid: 'u-hana', delivered: true },
    });
    for (const c of [hanaA, hanaB]) await waitForText(c, 'ping text', 'notified text');
    expect(await http(api2, 'POST', '/notify', { uid: 'u-hana', message: { type: 'alert', n: 1 } })).toEqual({
      status: 200,
      body: { uid: 'u-hana', delivered: true },
    });
    for (const c of [hanaA, hanaB]) {
      const raw = await c.waitUntilReceived(() => texts(c).find((t) => t.includes('"alert"')), 'notified object');
      expect(JSON.parse(raw)).toEqual({ type: 'alert', n: 1 });
    }
    expect(hanaA.received.every((m) => !m.binary) && hanaB.received.every((m) => !m.binary)).toBe(true);
    expect(await http(api2, 'POST', '/notify', { uid: 'u-ivo', message: 'for ivo' })).toEqual({
      status: 200,
      body: { uid: 'u-ivo', delivered: true },
    });
    await waitForText(ivo, 'for ivo', 'notified Ivo');
    expect(texts(ivo).filter((t) => t === 'ping text' || t.includes('"alert"'))).toEqual([]);
    expect(texts(hanaA).concat(texts(hanaB))).not.toContain('for ivo');
    expect(await http(api1, 'POST', '/notify', { uid: 'ghost', message: 'x' })).toEqual({
      status: 200,
      body: { uid: 'ghost', delivered: false },
    });

    // Validation errors: 400 with a message naming the field.
    const noUid = await http(api1, 'POST', '/notify', { message: 'x' });
    expect(noUid.status).toBe(400);
    expect(JSON.stringify(noUid.body.message)).toContain('uid');
    const noMessage = await http(api2, 'POST', '/notify', { uid: 'u-hana' });
    expect(noMessage.status).toBe(400);
    expect(JSON.stringify(noMessage.body.message)).toContain('message');
    const badId = await http(api1, 'POST', '/kick', { clientId: 'not-a-client-id' });
    expect(badId.status).toBe(400);
    expect(JSON.stringify(badId.body.message)).toContain('clientId');

    // A client_id of a gateway that is not registered (e.g. stored before a gateway restart): an offline client.
    expect(await http(api2, 'POST', '/kick', { clientId: UNREGISTERED_CLIENT_ID, message: 'bye' })).toEqual({
      status: 200,
      body: { clientId: UNREGISTERED_CLIENT_ID, kicked: false },
    });

    // kick: the last message, then close 1000; the room is told.
    expect(await http(api2, 'POST', '/kick', { clientId: ivoId, message: 'bye ivo' })).toEqual({
      status: 200,
      body: { clientId: ivoId, kicked: true },
    });
    expect(await ivo.closed).toBe(1000);
    expect(texts(ivo).at(-1)).toBe('bye ivo');
    await waitForJson(hanaA, { type: 'logout', client_id: ivoId, client_name: 'Ivo' }, 'r1 told Ivo was kicked');
    // The same client_id again: its gateway is up, the client is gone.
    expect(await http(api1, 'POST', '/kick', { clientId: ivoId })).toEqual({
      status: 200,
      body: { clientId: ivoId, kicked: false },
    });

    const after = await eventually(
      () => http(api1, 'GET', '/online'),
      (r) => r.body?.clients === 3,
      'GET /online to count 3 clients',
    );
    expect(after).toEqual({ status: 200, body: { clients: 3, uids: 1, groups: { r1: 1, r2: 1 } } });
  });

  it('the notifier example (GatewayModule.forClientAsync in a plain Nest app) notifies a uid on both gateways', async () => {
    const nA = await open(gwA);
    const nB = await open(gwB);
    const other = await open(gwB);
    await login(nA, 'Nia', 'news', 'u-nia');
    await login(nB, 'Nia (tablet)', 'news', 'u-nia');
    await login(other, 'Olaf', 'news', 'u-olaf');

    const saved = { REGISTER_ADDRESS: process.env.REGISTER_ADDRESS, SECRET_KEY: process.env.SECRET_KEY };
    process.env.REGISTER_ADDRESS = register.address;
    process.env.SECRET_KEY = TEST_SECRET;
    let app: INestApplicationContext | undefined;
    try {
      app = await NestFactory.createApplicationContext(NotifierModule, { logger: ['error', 'warn'] });
      const notifier = app.get(NotifierService);
      expect(await notifier.notifyUser('u-nia', 'deploy done')).toBe(true);
      for (const c of [nA, nB]) await waitForJson(c, { type: 'notice', text: 'deploy done' }, 'notice');
      expect(await notifier.notifyUser('ghost', 'nobody home')).toBe(false);
      expect(await notifier.notifyUser('u-olaf', 'for olaf')).toBe(true);
      await waitForJson(other, { type: 'notice', text: 'for olaf' }, 'notice for Olaf');
      expect(jsonMessages(other).filter((m) => m.text === 'deploy done')).toEqual([]);
      expect(
        jsonMessages(nA)
          .concat(jsonMessages(nB))
          .filter((m) => m.text === 'for olaf' || m.text === 'nobody home'),
      ).toEqual([]);
    } finally {
      await app?.close();
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
