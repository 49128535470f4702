import { ClientId, GatewayClient, Handshake, MessageBody, OnClientMessage } from 'nest-gateway-worker';
import { parseHostPort } from 'nest-gateway-worker/internal';
import { Controller, Inject, type INestMicroservice } from '@nestjs/common';
import { startGateway, startRegister, startWorker, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { eventually } from './support/eventually';
import { GatewayProbe } from './support/gateway-probe';
import { startInProcessWorker } from './support/in-process-worker';
import { TestClient } from './support/ws-client';

/** Routing of client events to workers: sticky least-connections, fail-over, and no worker at all. */

function namedController(name: string) {
  @Controller()
  class NamedController {
    constructor(@Inject(GatewayClient) readonly gw: GatewayClient) {}

    @OnClientMessage('who')
    who(@Handshake('query') query: Record<string, string>) {
      return `${name}:${query.n}`;
    }

    @OnClientMessage('flood')
    async flood(@ClientId() id: string, @MessageBody() body: { type: string; chunks: number }) {
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < Math.min(body.chunks, 2_000); i++) sends.push(this.gw.sendToClient(id, chunk));
      await Promise.all(sends);
    }
  }
  return NamedController;
}

describe('routing client events to workers', () => {
  let register: { proc: RoleProcess; address: string };
  let gateway: { proc: RoleProcess; url: string; inner: string };
  /** The gateway's statistics, as a GatewayClient in this process sees them. */
  let probe: GatewayProbe;
  const apps: INestMicroservice[] = [];
  const clients: TestClient[] = [];

  async function worker(name: string): Promise<INestMicroservice> {
    const { app } = await startInProcessWorker([namedController(name)], {
      registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
      secret: Buffer.from(TEST_SECRET),
      name,
    });
    apps.push(app);
    await GatewayProbe.of(app.get(GatewayClient)).linked([gateway.inner]);
    return app;
  }

  async function open(n: number): Promise<TestClient> {
    const c = await TestClient.open(`${gateway.url}/?n=${n}`);
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    register = await startRegister();
    gateway = await startGateway(register.address);
    probe = await GatewayProbe.start(register.address);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const app of apps.splice(0)) await app.close();
    await probe?.close();
    await stopAll();
  });

  it('keeps each client on one worker, spreads clients by least connections, and fails over without dropping them', async () => {
    const a = await worker('alpha');
    await worker('beta');
    const cs = await Promise.all([0, 1, 2, 3].map((n) => open(n)));
    for (let round = 0; round < 3; round++) for (const c of cs) c.send(JSON.stringify({ type: 'who' }));
    const owners = await Promise.all(
      cs.map(async (c, n) => {
        const replies = (await c.waitForMessages(3)).map((r) => r.data.toString());
        const owner = replies[0].split(':')[0];
        expect(replies).toEqual([`${owner}:${n}`, `${owner}:${n}`, `${owner}:${n}`]); // sticky
        return owner;
      }),
    );
    expect(owners.filter((o) => o === 'alpha')).toHaveLength(2); // least connections: 2 and 2
    expect(owners.filter((o) => o === 'beta')).toHaveLength(2);

    // alpha goes away: its clients stay connected and move to beta, which receives their handshake.
    apps.splice(apps.indexOf(a), 1);
    await a.close();
    await probe.workers(gateway.inner, 1);
    for (const c of cs) c.send(JSON.stringify({ type: 'who' }));
    for (const [n, c] of cs.entries()) {
      expect(c.closeCode).toBeNull();
      expect(await c.text(3)).toBe(`beta:${n}`);
    }
  });

  it('holds events while no worker is connected and delivers them in order when one connects, also across a worker restart', async () => {
    const c = await open(0);
    c.send('first');
    c.send(Buffer.from([1, 2, 3]));
    c.send('third');
    // All three reached the gateway while no worker was linked.
    await probe.until(
      gateway.inner,
      (s) => s.workers === 0 && s.counters.messagesIn === 3,
      '3 client messages in, no worker',
    );
    const w1 = await startWorker(register.address, {}, gateway.inner);
    const replies = await c.waitForMessages(3);
    expect(replies.map((r) => (r.binary ? [...r.data] : r.data.toString()))).toEqual(['first', [1, 2, 3], 'third']);

    // The worker dies hard; the client keeps its connection and its next messages wait for the next worker.
    await w1.kill();
    await probe.workers(gateway.inner, 0);
    c.send('during outage 1');
    c.send('during outage 2');
    await startWorker(register.address, {}, gateway.inner);
    const after = await c.waitForMessages(5);
    expect(after.slice(3).map((r) => r.data.toString())).toEqual(['during outage 1', 'during outage 2']);
    expect(c.closeCode).toBeNull();
  });

  it('disconnects a client that stops reading once its unsent bytes pass the bound (slow consumer)', async () => {
    await worker('flooder');
    const slow = await open(0);
    const healthy = await open(1);
    // Stop reading: the kernel buffers fill, then the gateway's per-client queue grows.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    slow.send(JSON.stringify({ type: 'flood', chunks: 400 })); // 25 MiB, far above the 1 MiB default bound
    await probe.until(gateway.inner, (s) => s.counters.slowConsumerDisconnects === 1, 'one slow-consumer disconnect');
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await slow.closed;
    // Other clients are unaffected.
    healthy.send(JSON.stringify({ type: 'who' }));
    expect(await healthy.text(0)).toBe('flooder:1');
    await eventually(
      () => slow.closeCode,
      (code) => code !== null,
      'the slow client to be closed',
    );
    expect([4008, 1006]).toContain(slow.closeCode);
  });
});
