import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, within } from './support/eventually';
import { GatewayProbe } from './support/gateway-probe';
import { startGateway, startRegister, startWorker, stopAll } from './support/roles';
import { TcpTestClient } from './support/tcp-client';
import { TestClient } from './support/ws-client';

/**
 * Sockets that never finish their handshake: counted against the connection limits from the TCP accept (over a
 * limit they are destroyed at once), dropped after GATEWAY_HANDSHAKE_TIMEOUT_MS (ws://: no upgrade; text://:
 * nothing sent), while WebSocket clients and the inner links (a worker, the SDK) keep working. Real register,
 * gateway and worker (the example echo worker) processes; the flood is raw TCP sockets from this process.
 */

/** Sockets opened by one flood, bounded in number. */
const FLOOD = 200;
const PER_IP = 20;

/** A raw TCP socket to a client listener that sends nothing (or only what the test writes). */
class RawSocket {
  closed = false;
  readonly socket: Socket;

  constructor(port: number, localAddress: string) {
    this.socket = connect({ port, host: '127.0.0.1', localAddress });
    this.socket.on('error', () => undefined); // refused sockets are reset
    this.socket.resume(); // reads and drops what comes (an HTTP error response), so that the end is seen
    this.socket.once('close', () => (this.closed = true));
  }
}

const raws: RawSocket[] = [];
const clients: (TestClient | TcpTestClient)[] = [];
let probe: GatewayProbe | null = null;

afterEach(async () => {
  for (const r of raws.splice(0)) r.socket.destroy();
  for (const c of clients.splice(0)) c.close();
  await probe?.close();
  probe = null;
  await stopAll();
});

function flood(port: number, count: number, localAddress = '127.0.0.1'): RawSocket[] {
  const opened: RawSocket[] = [];
  for (let i = 0; i < count; i++) opened.push(new RawSocket(port, localAddress));
  raws.push(...opened);
  return opened;
}

const portOf = (url: string) => Number(/:(\d+)(?:\/|$)/.exec(url)![1]);
const closedCount = (sockets: RawSocket[]) => sockets.filter((s) => s.closed).length;

/** A WebSocket client from `localAddress` that gets its message echoed by the worker (a full round trip). */
async function roundTrip(url: string, localAddress: string, text: string): Promise<TestClient> {
  const client = await TestClient.open(url, {}, 10_000, { localAddress });
  clients.push(client);
  const n = client.received.length;
  client.send(text);
  expect(await client.text(n, 10_000)).toBe(text);
  return client;
}

describe('connections that never finish their handshake', () => {
  it(`counts ${FLOOD} upgrade-less sockets from their accept: ${PER_IP} held, the rest destroyed at once; WebSocket clients and inner links keep working`, async () => {
    const register = await startRegister();
    // A long handshake timeout: the held sockets stay put while the test looks at them.
    const gateway = await startGateway(register.address, {
      GATEWAY_MAX_CONNECTIONS_PER_IP: String(PER_IP),
      GATEWAY_HANDSHAKE_TIMEOUT_MS: '600000',
    });
    probe = await GatewayProbe.start(register.address);
    await probe.until(gateway.inner, (s) => s.connections === 0, 'to answer the SDK');

    const sockets = flood(portOf(gateway.url), FLOOD);
    // The gateway refuses the sockets over the per-address limit at accept, and counts them.
    const stats = await probe.until(
      gateway.inner,
      (s) => s.counters.connectionsRefused === FLOOD - PER_IP,
      `${FLOOD - PER_IP} connections refused at accept`,
    );
    await eventually(
      () => closedCount(sockets),
      (n) => n === FLOOD - PER_IP,
      `${FLOOD - PER_IP} flood sockets to be closed by the gateway`,
      15_000,
    );
    expect(closedCount(sockets)).toBe(FLOOD - PER_IP); // the other 20 are held (not upgraded, not clients)
    expect([stats.connections, stats.counters.connectionsAccepted]).toEqual([0, 0]);

    // During the flood: a worker links (inner listener, not counted), and a WebSocket client from another address
    // gets its echo; the SDK's own link answered the statistics above.
    await startWorker(register.address, {}, gateway.inner);
    await roundTrip(gateway.url, '127.0.0.2', 'during the flood');
    // A real WebSocket client from the flooded address is refused like any socket over its limit.
    await expect(TestClient.open(gateway.url, {}, 10_000, { localAddress: '127.0.0.1' })).rejects.toThrow();
    await probe.until(gateway.inner, (s) => s.counters.connectionsRefused === FLOOD - PER_IP + 1, 'one more refusal');

    // Sockets closed before upgrading free their slots at once: the address may connect again.
    for (const s of sockets) s.socket.destroy();
    await eventually(
      () => TestClient.open(gateway.url, {}, 10_000, { localAddress: '127.0.0.1' }).then((c) => (clients.push(c), c)),
      () => true,
      'a WebSocket client from 127.0.0.1 to be accepted again',
      15_000,
      200,
    );
    await roundTrip(gateway.url, '127.0.0.1', 'after the flood');
    expect((await probe.stats(gateway.inner))!.workers).toBe(1);
  });

  it(`drops ws:// sockets that do not upgrade within GATEWAY_HANDSHAKE_TIMEOUT_MS; upgraded clients and the worker's link stay`, async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address, {
      GATEWAY_MAX_CONNECTIONS_PER_IP: String(PER_IP),
      GATEWAY_HANDSHAKE_TIMEOUT_MS: '500',
    });
    probe = await GatewayProbe.start(register.address);
    await startWorker(register.address, {}, gateway.inner);
    const before = await roundTrip(gateway.url, '127.0.0.2', 'before the flood');

    const sockets = flood(portOf(gateway.url), FLOOD);
    // One more that starts an HTTP request and never finishes its headers (slowloris), from another address.
    const [slow] = flood(portOf(gateway.url), 1, '127.0.0.3');
    slow.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    await roundTrip(gateway.url, '127.0.0.2', 'during the flood');

    // Every flood socket is closed by the gateway: refused at accept, or dropped at the deadline.
    await eventually(
      () => closedCount([...sockets, slow]),
      (n) => n === FLOOD + 1,
      `all ${FLOOD + 1} sockets to be closed by the gateway`,
      15_000,
    );
    const stats = await probe.until(
      gateway.inner,
      (s) => s.counters.connectionsRefused + s.counters.handshakeTimeouts === FLOOD + 1,
      'every flood socket counted as refused or timed out',
    );
    console.log(
      `handshake flood: ${FLOOD + 1} sockets, ${stats.counters.connectionsRefused} refused at accept, ` +
        `${stats.counters.handshakeTimeouts} dropped at the 500 ms deadline`,
    );
    expect(stats.counters.handshakeTimeouts).toBeGreaterThanOrEqual(PER_IP + 1);
    expect(stats.counters.connectionsRefused).toBeLessThanOrEqual(FLOOD - PER_IP);

    // The client upgraded before the flood lived through several deadlines and HTTP timeout checks: still open.
    expect(before.closeCode).toBeNull();
    before.send('still here');
    expect(await before.text(1, 10_000)).toBe('still here');
    await roundTrip(gateway.url, '127.0.0.1', 'after the flood');
    expect(stats.workers).toBe(1);
  });

  it('closes a text:// client that sends nothing within GATEWAY_HANDSHAKE_TIMEOUT_MS; one that sends in time stays', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address, {
      GATEWAY_LISTEN: 'text://127.0.0.1:0',
      GATEWAY_HANDSHAKE_TIMEOUT_MS: '500',
    });
    await startWorker(register.address, {}, gateway.inner);
    const talking = await TcpTestClient.open(gateway.url);
    clients.push(talking);
    talking.send('hello');
    expect(await talking.text(0)).toBe('hello');
    // Accepted after the talking client: when it is dropped, the talking client's deadline has passed as well.
    const silent = await TcpTestClient.open(gateway.url);
    clients.push(silent);
    await within(silent.closed, 'the silent text:// client to be closed by the gateway', 15_000);
    expect(talking.ended).toBe(false);
    talking.send('still here');
    expect(await talking.text(1)).toBe('still here');
  });

  it('applies the same to wss://: a socket that never starts TLS is dropped at the deadline, over the limit at accept; an upgraded wss client stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-handshake-'));
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key].concat([
          '-out',
          cert,
          '-days',
          '2',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ]),
        { stdio: 'pipe' },
      );
      const register = await startRegister();
      const gateway = await startGateway(register.address, {
        GATEWAY_LISTEN: 'wss://127.0.0.1:0',
        GATEWAY_TLS_CERT: cert,
        GATEWAY_TLS_KEY: key,
        GATEWAY_MAX_CONNECTIONS_PER_IP: '2',
        GATEWAY_HANDSHAKE_TIMEOUT_MS: '500',
      });
      probe = await GatewayProbe.start(register.address);
      await startWorker(register.address, {}, gateway.inner);
      const ca = readFileSync(cert);
      const upgraded = await TestClient.open(gateway.url, {}, 10_000, { ca, localAddress: '127.0.0.1' });
      clients.push(upgraded);
      const [silent, refused] = flood(portOf(gateway.url), 2); // the second is the third from 127.0.0.1
      await eventually(
        () => closedCount([silent, refused]),
        (n) => n === 2,
        'both raw sockets to be closed by the gateway',
        15_000,
      );
      const stats = await probe.until(
        gateway.inner,
        (s) => s.counters.connectionsRefused === 1 && s.counters.handshakeTimeouts === 1,
        'one refusal at accept and one handshake timeout',
      );
      // Upgraded over TLS before the deadline: it keeps its slot and stays, past the deadline.
      expect([stats.connections, upgraded.closeCode]).toEqual([1, null]);
      upgraded.send('over tls');
      expect(await upgraded.text(0, 10_000)).toBe('over tls');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
