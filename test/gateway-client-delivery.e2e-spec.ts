import {
  ClientId,
  CommandNotSentError,
  GatewayClient,
  GatewayModule,
  GatewayPartialFailureError,
  GatewayTimeoutError,
  OnClientMessage,
  RegisterUnavailableError,
  type DeliveryReceipt,
  type GatewayFailure,
} from 'nest-gateway-worker';
import { GatewayClientPool, gatewayAddressOf, parseHostPort, type GatewayLinkPool } from 'nest-gateway-worker/internal';
import {
  Controller,
  Module,
  type DynamicModule,
  type INestApplicationContext,
  type INestMicroservice,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createServer, type AddressInfo } from 'node:net';
import { eventually } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import { startGateway, startRegister, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * GatewayClient's delivery semantics against real processes: stored client_ids of a gateway that went away are
 * offline clients (not errors), a registered gateway that does not answer still is an error, confirmed sends
 * report the connections the gateways reached, and fire-and-forget commands a dying link never sent are reported
 * on `failures`. Every wait observes state (a message, a query answer, a failure event, the gateway list).
 */

@Controller()
class WhoAmIController {
  @OnClientMessage('whoami')
  whoami(@ClientId() clientId: string) {
    return { type: 'me', clientId };
  }
}

type Gateway = { proc: RoleProcess; url: string; inner: string };

interface Peer {
  c: TestClient;
  id: string;
}

const TIMEOUT_MS = 1_000;
const texts = (p: Peer) => p.c.received.map((m) => m.data.toString('utf8'));
const sorted = <T>(list: T[]) => [...list].sort();

async function standaloneContext(gatewayModule: DynamicModule): Promise<INestApplicationContext> {
  @Module({ imports: [gatewayModule] })
  class StandaloneModule {}
  return NestFactory.createApplicationContext(StandaloneModule, { logger: ['error'] });
}

/** Waits (bounded) until the peer received `text`. */
async function receives(p: Peer, text: string): Promise<void> {
  await eventually(
    () => texts(p),
    (all) => all.includes(text),
    `"${text}" to arrive`,
    5_000,
  );
}

/** An ephemeral port nobody listens on. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('GatewayClient delivery semantics', () => {
  let register: { proc: RoleProcess; address: string };
  let g1: Gateway;
  let g2: Gateway;
  let worker: { app: INestMicroservice; transport: { client: GatewayClient; links: GatewayLinkPool } };
  const contexts: INestApplicationContext[] = [];
  let standalone: GatewayClient;
  let standaloneLinks: GatewayLinkPool;
  let strict: GatewayClient;
  const peers: Peer[] = [];
  const extraGateways: Gateway[] = [];

  async function openPeer(gateway: Gateway): Promise<Peer> {
    const c = await TestClient.open(gateway.url);
    const p: Peer = { c, id: '' };
    peers.push(p);
    c.send(JSON.stringify({ type: 'whoami' }));
    p.id = JSON.parse(await c.text(0)).clientId;
    expect(gatewayAddressOf(p.id)).toBe(gateway.inner);
    return p;
  }

  /** Every client (worker links and the forClient pool) has `address` in its gateway list, or not. */
  async function listed(address: string, expected: boolean): Promise<void> {
    for (const links of [standaloneLinks, worker.transport.links]) {
      await eventually(
        () => links.gateways(TIMEOUT_MS),
        (list) => list.includes(address) === expected,
        `${address} listed: ${expected}`,
      );
    }
  }

  beforeAll(async () => {
    register = await startRegister();
    [g1, g2] = await Promise.all([startGateway(register.address), startGateway(register.address)]);
    worker = await startInProcessWorker(
      [WhoAmIController],
      {
        registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
        secret: Buffer.from(TEST_SECRET),
        name: 'delivery',
        timeoutMs: TIMEOUT_MS,
      },
      [g1.inner, g2.inner],
    );
    contexts.push(
      await standaloneContext(
        GatewayModule.forClient({ registers: register.address, secret: TEST_SECRET, timeoutMs: TIMEOUT_MS }),
      ),
    );
    contexts.push(
      await standaloneContext(
        GatewayModule.forClient({
          registers: register.address,
          secret: TEST_SECRET,
          timeoutMs: TIMEOUT_MS,
          rejectOnGatewayFailure: true,
        }),
      ),
    );
    [standalone, strict] = contexts.map((ctx) => ctx.get(GatewayClient));
    standaloneLinks = contexts[0].get(GatewayClientPool, { strict: false }).links;
    await listed(g1.inner, true);
    await listed(g2.inner, true);
  });

  afterEach(async () => {
    for (const g of [g2, ...extraGateways]) if (g?.proc.running) g.proc.child.kill('SIGCONT');
    const closing = peers.splice(0);
    for (const p of closing) p.c.close();
    const ids = new Set(closing.map((p) => p.id));
    await eventually(
      () => standalone.getAllClientIdList(),
      (list) => !list.some((id) => ids.has(id)),
      'the test clients to leave',
    );
  });

  afterAll(async () => {
    for (const p of peers.splice(0)) p.c.close();
    for (const g of [g2, ...extraGateways]) if (g?.proc.running) g.proc.child.kill('SIGCONT');
    for (const ctx of contexts.splice(0)) await ctx.close();
    await worker?.app.close();
    await stopAll();
  });

  // ---- stale client_ids --------------------------------------------------------------------------------

  it('a stored client_id of a stopped gateway (gone from the register) is an offline client for every single-client method', async () => {
    const g3 = await startGateway(register.address);
    extraGateways.push(g3);
    await listed(g3.inner, true);
    const stored = await openPeer(g3);
    expect(await standalone.isOnline(stored.id)).toBe(true);
    expect(await worker.transport.client.isOnline(stored.id)).toBe(true);

    await g3.proc.stop(); // SIGTERM to the pid we started: a gateway restart or removal
    await listed(g3.inner, false);

    for (const gw of [standalone, worker.transport.client, strict]) {
      const seen: GatewayFailure[] = [];
      const subscription = gw.failures.subscribe((f) => seen.push(f));
      try {
        const id = stored.id;
        expect(await gw.isOnline(id)).toBe(false);
        expect(await gw.getSession(id)).toBeNull();
        expect(await gw.getUidByClientId(id)).toBeNull();
        expect(await gw.getClientInfo(id)).toBeNull();
        // Commands do nothing and resolve.
        await expect(gw.sendToClient(id, 'x')).resolves.toBeUndefined();
        await expect(gw.closeClient(id, 'bye')).resolves.toBeUndefined();
        await expect(gw.closeClient(id, null, { code: 4001, reason: 'r' })).resolves.toBeUndefined();
        await expect(gw.destroyClient(id)).resolves.toBeUndefined();
        await expect(gw.bindUid(id, 'stale-uid')).resolves.toBeUndefined();
        await expect(gw.unbindUid(id)).resolves.toBeUndefined();
        await expect(gw.joinGroup(id, 'stale-group')).resolves.toBeUndefined();
        await expect(gw.leaveGroup(id, 'stale-group')).resolves.toBeUndefined();
        await expect(gw.setSession(id, { a: 1 })).resolves.toBeUndefined();
        await expect(gw.updateSession(id, { a: 2 })).resolves.toBeUndefined();
        // Confirmed: nothing delivered, nothing failed.
        const none: DeliveryReceipt = { delivered: 0, failedGateways: [] };
        expect(await gw.sendToClient(id, 'x', { confirm: true })).toEqual(none);
        expect(await gw.closeClient(id, 'bye', { confirm: true })).toEqual(none);
        expect(await gw.closeClient(id, null, { code: 4001, confirm: true })).toEqual(none);
        expect(await gw.destroyClient(id, { confirm: true })).toEqual(none);
        // A listed id in sendToAll whose gateway is gone: nothing to send there, not a failure.
        expect(await gw.sendToAll('x', [id], null, { confirm: true })).toEqual(none);
        // Nothing bound or joined anywhere, nothing reported.
        expect(await gw.isUidOnline('stale-uid')).toBe(false);
        expect(await gw.getClientCountByGroup('stale-group')).toBe(0);
        expect(seen).toEqual([]);
      } finally {
        subscription.unsubscribe();
      }
    }
  });

  it('a registered gateway that does not answer is still an error, for queries and confirmed sends', async () => {
    const b = await openPeer(g2);
    g2.proc.child.kill('SIGSTOP'); // still registered, its sockets open: requests time out
    try {
      await expect(standalone.isOnline(b.id)).rejects.toBeInstanceOf(GatewayTimeoutError);
      await expect(standalone.getSession(b.id)).rejects.toBeInstanceOf(GatewayTimeoutError);
      await expect(worker.transport.client.getUidByClientId(b.id)).rejects.toBeInstanceOf(GatewayTimeoutError);
      // Confirmed single-client sends reject like queries; whether the gateway executed it later is unknown.
      await expect(standalone.sendToClient(b.id, 'late', { confirm: true })).rejects.toBeInstanceOf(
        GatewayTimeoutError,
      );
      await expect(standalone.closeClient(b.id, null, { confirm: true })).rejects.toBeInstanceOf(GatewayTimeoutError);
    } finally {
      g2.proc.child.kill('SIGCONT');
    }
    // The unconfirmed close was not lost, only unconfirmed: the gateway executes it once it runs again.
    expect(await b.c.closed).toBe(1000);
    await eventually(
      () => standalone.isOnline(b.id),
      (online) => online === false,
      'the late close to be executed',
    );
  });

  it('waits for the first gateway list before calling a live client offline; no register at all is an error', async () => {
    const a = await openPeer(g1);
    // A fresh forClient app asked at once, before its first list can have arrived.
    const fresh = await standaloneContext(
      GatewayModule.forClient({ registers: register.address, secret: TEST_SECRET, timeoutMs: 5_000 }),
    );
    contexts.push(fresh);
    const gw = fresh.get(GatewayClient);
    expect(await gw.isOnline(a.id)).toBe(true);
    expect(await gw.getSession(a.id)).toEqual({});
    // A forClient app whose register cannot be reached cannot tell: RegisterUnavailableError, not "offline".
    const nowhere = await standaloneContext(
      GatewayModule.forClient({ registers: `127.0.0.1:${await unusedPort()}`, secret: TEST_SECRET, timeoutMs: 300 }),
    );
    contexts.push(nowhere);
    const lost = nowhere.get(GatewayClient);
    await expect(lost.isOnline(a.id)).rejects.toBeInstanceOf(RegisterUnavailableError);
    await expect(lost.sendToClient(a.id, 'x')).rejects.toBeInstanceOf(RegisterUnavailableError);
    await expect(lost.sendToClient(a.id, 'x', { confirm: true })).rejects.toBeInstanceOf(RegisterUnavailableError);
  });

  // ---- delivery receipts ---------------------------------------------------------------------------------

  it('confirmed sends resolve with the connections the gateways reached, across two gateways', async () => {
    const [a1, a2, b1, b2] = await Promise.all([openPeer(g1), openPeer(g1), openPeer(g2), openPeer(g2)]);
    await standalone.bindUid(a1.id, 'u');
    await standalone.bindUid(b1.id, 'u');
    for (const p of [a1, a2, b2]) await standalone.joinGroup(p.id, 'grp');

    // One uid on two gateways.
    expect(await standalone.sendToUid('u', 'to u', { confirm: true })).toEqual({ delivered: 2, failedGateways: [] });
    await Promise.all([receives(a1, 'to u'), receives(b1, 'to u')]);
    expect(await worker.transport.client.sendToUid(['u', 'nobody'], 'to u again', { confirm: true })).toEqual({
      delivered: 2,
      failedGateways: [],
    });
    expect(await standalone.sendToUid('nobody', 'x', { confirm: true })).toEqual({ delivered: 0, failedGateways: [] });
    // A group, minus an excluded member.
    expect(await standalone.sendToGroup('grp', 'to grp', [a2.id], { confirm: true })).toEqual({
      delivered: 2,
      failedGateways: [],
    });
    await Promise.all([receives(a1, 'to grp'), receives(b2, 'to grp')]);
    // sendToAll: everyone, minus exclusions, or only the listed ones.
    expect(await standalone.sendToAll('to all', null, null, { confirm: true })).toEqual({
      delivered: 4,
      failedGateways: [],
    });
    expect(await standalone.sendToAll('all but two', null, [a1.id, b2.id], { confirm: true })).toEqual({
      delivered: 2,
      failedGateways: [],
    });
    await Promise.all([receives(a2, 'all but two'), receives(b1, 'all but two')]);
    expect(await strict.sendToAll('listed', [a1.id, b1.id, b2.id], [b2.id], { confirm: true })).toEqual({
      delivered: 2,
      failedGateways: [],
    });
    // One client.
    expect(await standalone.sendToClient(a2.id, 'just a2', { confirm: true })).toEqual({
      delivered: 1,
      failedGateways: [],
    });
    await receives(a2, 'just a2');
    // What was sent is what arrived: nobody got a message it was not counted for.
    expect(texts(a1).filter((t) => !t.startsWith('{'))).toEqual(['to u', 'to u again', 'to grp', 'to all', 'listed']);
    expect(texts(a2).filter((t) => !t.startsWith('{'))).toEqual(['to all', 'all but two', 'just a2']);
    expect(texts(b1).filter((t) => !t.startsWith('{'))).toEqual([
      'to u',
      'to u again',
      'to all',
      'all but two',
      'listed',
    ]);
    expect(texts(b2).filter((t) => !t.startsWith('{'))).toEqual(['to grp', 'to all']);

    // Closes: 1 when the gateway closed the connection, 0 when there was none.
    expect(await standalone.closeClient(b2.id, 'bye', { confirm: true })).toEqual({ delivered: 1, failedGateways: [] });
    expect(await b2.c.closed).toBe(1000);
    expect(texts(b2).at(-1)).toBe('bye');
    await eventually(
      () => standalone.isOnline(b2.id),
      (online) => !online,
      'b2 to be gone',
    );
    expect(await standalone.closeClient(b2.id, null, { confirm: true })).toEqual({ delivered: 0, failedGateways: [] });
    expect(
      await worker.transport.client.closeClient(b1.id, null, { code: 4001, reason: 'replaced', confirm: true }),
    ).toEqual({
      delivered: 1,
      failedGateways: [],
    });
    expect(await b1.c.closed).toBe(4001);
    expect(await standalone.destroyClient(a2.id, { confirm: true })).toEqual({ delivered: 1, failedGateways: [] });
    expect(await a2.c.closed).toBe(1006);
  });

  it('a confirmed send names the gateways that did not confirm, and the strict client rejects', async () => {
    const [a1, b1] = await Promise.all([openPeer(g1), openPeer(g2)]);
    g2.proc.child.kill('SIGSTOP');
    try {
      const receipt = await standalone.sendToAll('partial', null, null, { confirm: true });
      expect(receipt.delivered).toBe(1);
      expect(receipt.failedGateways).toEqual([
        { operation: 'sendToAll', gatewayAddress: g2.inner, error: expect.any(GatewayTimeoutError) },
      ]);
      await receives(a1, 'partial');
      const strictly = await strict.sendToUid('nobody', 'x', { confirm: true }).catch((e: unknown) => e);
      expect(strictly).toBeInstanceOf(GatewayPartialFailureError);
      expect((strictly as GatewayPartialFailureError).failures.map((f) => f.gatewayAddress)).toEqual([g2.inner]);
    } finally {
      g2.proc.child.kill('SIGCONT');
    }
    // The stopped gateway executes what it received once it runs again: the send was not lost, only unconfirmed.
    await receives(b1, 'partial');
  });

  // ---- link loss -------------------------------------------------------------------------------------------

  it('fire-and-forget commands still queued when their gateway is killed are reported on failures, never sent twice', async () => {
    const g4 = await startGateway(register.address);
    extraGateways.push(g4);
    await listed(g4.inner, true);
    const d = await openPeer(g4);
    const a = await openPeer(g1);
    const seen: GatewayFailure[] = [];
    const subscription = standalone.failures.subscribe((f) => seen.push(f));
    try {
      g4.proc.child.kill('SIGSTOP'); // it stops reading: once the kernel buffers are full, commands wait here
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      let sent = 0;
      for (; standaloneLinks.pendingBytes(g4.inner) < 2 * 1024 * 1024; sent++) {
        if (sent >= 1_000) throw new Error('the link to the stopped gateway never backed up');
        await standalone.sendToClient(d.id, chunk); // resolves once queued: fire-and-forget
        // Let the link write what it queued (it flushes once per event-loop turn): what is still pending then is
        // what the operating system refused, so the link is really backed up, not merely holding this turn's bytes.
        await new Promise((r) => setImmediate(r));
      }
      await standalone.sendToUid('nobody', 'fan-out while backed up'); // one part per gateway, g4's waits too
      await standalone.sendToClient(a.id, 'healthy gateway');
      await g4.proc.kill(); // SIGKILL to the pid we started: the kernel resets its sockets
      await eventually(
        () => seen,
        (s) => s.some((f) => f.operation === 'sendToUid') && s.some((f) => f.operation === 'sendToClient'),
        'the lost commands to be reported',
      );
      const lost = seen.filter((f) => f.error instanceof CommandNotSentError);
      expect(lost).toEqual(seen);
      for (const f of lost) expect(f.gatewayAddress).toBe(g4.inner);
      const lostSends = lost.filter((f) => f.operation === 'sendToClient');
      expect(lostSends.length).toBeGreaterThan(0);
      expect(lostSends.length).toBeLessThanOrEqual(sent); // each command at most once
      for (const f of lostSends) expect(f.clientId).toBe(d.id);
      expect(lost.filter((f) => f.operation === 'sendToUid')).toEqual([
        { operation: 'sendToUid', gatewayAddress: g4.inner, error: expect.any(CommandNotSentError) },
      ]);
      // The healthy gateway was not affected.
      await receives(a, 'healthy gateway');
      // Once g4 is gone from the register its client is offline; nothing more is reported (nothing was retried).
      await listed(g4.inner, false);
      const reported = seen.length;
      expect(await standalone.isOnline(d.id)).toBe(false);
      expect(sorted(await standalone.getAllClientIdList())).toEqual([a.id]);
      expect(seen.length).toBe(reported);
    } finally {
      subscription.unsubscribe();
    }
  });
});
