import { GatewayServer } from 'nest-gateway-worker';
import { GatewayProbe } from './support/gateway-probe';
import { startGateway, startRegister, stopAll } from './support/roles';
import { TestClient } from './support/ws-client';
import { inProcessGatewayServer } from './support/in-process-gateway';

/** What the gateway does at its bounds, and how it closes clients; the close codes are the contract. */
describe('gateway bounds and close codes', () => {
  let server: GatewayServer | null = null;
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.stop();
    server = null;
    await stopAll();
  });

  /** A gateway in this process (so options without an environment variable can be set), no worker. */
  async function inProcessGateway(options: { pendingEventsLimit?: number; maxMessageSize?: number }): Promise<string> {
    const register = await startRegister();
    server = inProcessGatewayServer(register.address, options);
    return (await server.start()).clientUrl;
  }

  async function open(url: string): Promise<TestClient> {
    const c = await TestClient.open(url);
    clients.push(c);
    return c;
  }

  it('closes a client with 1013 once the events held for want of a worker pass the bound; other clients stay', async () => {
    const url = await inProcessGateway({ pendingEventsLimit: 4 });
    const quiet = await open(url); // its connect event is held: 1 of 4
    const chatty = await open(url); // 2 of 4
    chatty.send('a'); // 3
    chatty.send('b'); // 4
    chatty.send('c'); // over the bound
    expect(await chatty.closed).toBe(1013);
    expect(quiet.closeCode).toBeNull();
  });

  it('closes a client that sends a message above maxMessageSize with 1009', async () => {
    const url = await inProcessGateway({ maxMessageSize: 1024 });
    const c = await open(url);
    c.send('x'.repeat(2048));
    expect(await c.closed).toBe(1009);
  });

  it('limits client messages to 1 MiB by default and to GATEWAY_MAX_MESSAGE_BYTES when set (1009 above it)', async () => {
    const register = await startRegister();
    const byDefault = await startGateway(register.address);
    const fromEnv = await startGateway(register.address, { GATEWAY_MAX_MESSAGE_BYTES: '2048' });
    const big = await open(byDefault.url);
    const small = await open(fromEnv.url);
    const atLimit = await open(byDefault.url);
    atLimit.send('x'.repeat(1024 * 1024)); // exactly the limit: accepted (held, as no worker is connected)
    big.send('x'.repeat(1024 * 1024 + 1));
    small.send('x'.repeat(2049));
    expect(await big.closed).toBe(1009);
    expect(await small.closed).toBe(1009);
    expect(atLimit.closeCode).toBeNull();
  });

  it('logs oversize closes a stranger can cause by the thousand at most once per 10 s (every one counted)', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address, { GATEWAY_MAX_MESSAGE_BYTES: '1024' });
    const flood = await Promise.all(Array.from({ length: 40 }, () => open(gateway.url)));
    for (const c of flood) c.send('x'.repeat(2048));
    expect(await Promise.all(flood.map((c) => c.closed))).toEqual(flood.map(() => 1009));
    // The counter has every one; the log one line (the next one, 10 s later, would carry the suppressed count).
    const probe = await GatewayProbe.start(register.address);
    try {
      const stats = await probe.until(
        gateway.inner,
        (s) => s.counters.oversizeDisconnects === 40,
        '40 oversize closes',
      );
      expect(stats.counters.oversizeDisconnects).toBe(40);
    } finally {
      await probe.close();
    }
    const lines = gateway.proc.output.split('\n').filter((line) => line.includes('closed with 1009'));
    console.log(`oversize flood: 40 clients closed with 1009, ${lines.length} log line(s)`);
    expect(lines).toHaveLength(1);
  });

  it('closes clients with 1001 (going away) when the gateway process is stopped', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    const c = await open(gateway.url);
    await gateway.proc.stop();
    expect(await c.closed).toBe(1001);
  });
});
