import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { exitWithin } from './support/eventually';
import { GatewayProbe } from './support/gateway-probe';
import { startGateway, startRegister, startRole, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';

/**
 * Reliability of the processes themselves: a worker outlives an outage of everything it links to, and a flood of
 * bad inner and register connections costs a few log lines, not one per connection.
 */

/** A port nothing listens on (bound once by the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Opens a connection to `address`, writes `bytes`, and resolves once the peer closed it (or after 15 s). */
function badConnection(address: string, bytes: Buffer): Promise<void> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect(Number(address.slice(colon + 1)), address.slice(0, colon));
    const timer = setTimeout(() => socket.destroy(), 15_000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** `n` bad connections to `address`, at most `parallel` at a time: each sends what `bytes(i)` gives. */
async function flood(address: string, n: number, bytes: (i: number) => Buffer, parallel = 50): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) await badConnection(address, bytes(next++));
    }),
  );
}

/**
 * An encrypted-protocol hello (magic "GWN1" and a 32-byte nonce, README "Inner protocol and security") followed by
 * a proof from a peer that does not know the secret: 32 random bytes where the HMAC should be.
 */
function wrongHello(): Buffer {
  return Buffer.concat([Buffer.from('GWN1', 'ascii'), randomBytes(32), randomBytes(32)]);
}

function countLines(proc: RoleProcess, re: RegExp): number {
  return proc.lines.filter((line) => re.test(line)).length;
}

describe('reliability', () => {
  const probes: GatewayProbe[] = [];

  afterEach(async () => {
    for (const p of probes.splice(0)) await p.close();
    await stopAll();
  });

  it('a worker without an HTTP server keeps retrying while no register is reachable, links once one starts, and exits 0 on SIGTERM', async () => {
    const port = await closedPort();
    const registerAddress = `127.0.0.1:${port}`;
    const worker = startRole('worker', {
      SECRET_KEY: TEST_SECRET,
      REGISTER_ADDRESS: registerAddress,
      HTTP_LISTEN: 'off',
      WORKER_NAME: 'patient',
    });
    await worker.waitFor(/register .* unreachable/);
    // Before the fix the process ended here with status 0 (its reconnect timers are unref'd and no socket was
    // open). The first retries come after 0.5-1 s, then 1-2 s: a few of them fit in this bound.
    expect(await exitWithin(worker, 4_000)).toBe('still running');

    const register = await startRegister({ REGISTER_LISTEN: registerAddress });
    expect(register.address).toBe(registerAddress);
    const gateway = await startGateway(registerAddress);
    const probe = await GatewayProbe.start(registerAddress);
    probes.push(probe);
    // The worker found the register on its own (backoff ≤ 30 s), learnt the gateway and linked to it.
    await probe.workers(gateway.inner, 1, 45_000);

    worker.child.kill('SIGTERM');
    expect(await exitWithin(worker, 15_000)).toBe(0);
    expect(countLines(worker, /\bERROR\b/)).toBe(0);
  }, 90_000);

  it('rate-limits the warnings of bad inner and register connections, counts them, and keeps serving', async () => {
    const N = 500;
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    const probe = await GatewayProbe.start(register.address);
    probes.push(probe);
    await probe.until(gateway.inner, () => true, 'listed and answering');

    const random = (i: number) => Buffer.concat([Buffer.from([i & 0xff]), randomBytes(63)]);
    await flood(gateway.inner, N, random);
    await flood(gateway.inner, N, () => wrongHello());
    await flood(register.address, N, random);
    await flood(register.address, N, () => wrongHello());

    // A handful of lines per reason (one per 10 s window), not one per connection. (Every connection above was
    // closed by its server, which logs before it closes.)
    const notInner = /does not speak the encrypted inner protocol/;
    const wrongSecret = /SECRET_KEY differs/;
    for (const proc of [gateway.proc, register.proc]) {
      const notInnerLines = countLines(proc, notInner);
      const wrongSecretLines = countLines(proc, wrongSecret);
      expect(notInnerLines).toBeGreaterThanOrEqual(1);
      expect(notInnerLines).toBeLessThanOrEqual(5);
      expect(wrongSecretLines).toBeGreaterThanOrEqual(1);
      expect(wrongSecretLines).toBeLessThanOrEqual(5);
      // Never the secret, never the bytes received.
      expect(proc.output).not.toContain(TEST_SECRET);
    }
    // The gateway counts every one of them.
    const stats = await probe.until(
      gateway.inner,
      (s) => (s.counters.innerLinksRejected ?? 0) >= 2 * N,
      `${2 * N} rejected inner links counted`,
    );
    expect(stats.counters.innerLinksRejected).toBe(2 * N);

    // Both processes are up and serving: the gateway answers, and is still listed by the register.
    expect(gateway.proc.running).toBe(true);
    expect(register.proc.running).toBe(true);
    const second = await GatewayProbe.start(register.address);
    probes.push(second);
    await second.until(gateway.inner, () => true, 'listed and answering after the flood');

    // The suppressed ones are counted in a summary line once their window is over (the register has no stats API).
    const summary = await register.proc.waitFor(/(\d+) more register link\(s\) rejected .*does not speak/, 20_000);
    expect(Number(summary[1])).toBeGreaterThan(0);
  }, 120_000);
});
