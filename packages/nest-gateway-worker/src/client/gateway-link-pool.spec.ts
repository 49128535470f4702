import { Logger, type LoggerService } from '@nestjs/common';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { HostPort } from '../config/environment';
import { Cmd } from '../protocol/command';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { FrameDecoder } from '../protocol/frame-decoder';
import { encodeReply, readRequestId } from '../protocol/gateway-request';
import { InnerLink } from '../protocol/inner-link';
import { RegisterClient } from '../register/register-client';
import { RegisterServer } from '../register/register-server';
import { resolveRegisterOptions } from '../register/register-options';
import { GatewayUnavailableError, RegisterUnavailableError } from './gateway-errors';
import { sdkClientHello, workerHello, type GatewayHello } from './gateway-hello';
import { GatewayLinkPool, NOT_REGISTERED, type GatewayLinkPoolEvents, type UnsentReport } from './gateway-link-pool';

/** Real register, real inner links on 127.0.0.1, bounded waits, no timing assertions. */
jest.setTimeout(20_000);

const SECRET = Buffer.from('link-pool-spec-secret-0123456789');
const WAIT_MS = 5_000;

/** Every line the library logs, kept instead of printed. */
const logged: string[] = [];
const recorder: LoggerService = {
  log: (m: unknown) => void logged.push(String(m)),
  warn: (m: unknown) => void logged.push(String(m)),
  error: (m: unknown) => void logged.push(String(m)),
};

/** Resolves with the arguments of the next `event` that `accept`s them; rejects after WAIT_MS. */
function next<K extends keyof GatewayLinkPoolEvents>(
  pool: GatewayLinkPool,
  event: K,
  accept: (...args: GatewayLinkPoolEvents[K]) => boolean = () => true,
): Promise<GatewayLinkPoolEvents[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: GatewayLinkPoolEvents[K]): void => {
      if (!accept(...args)) return;
      clearTimeout(timer);
      (pool as unknown as NodeJS.EventEmitter).off(event, listener as never);
      resolve(args);
    };
    const timer = setTimeout(() => {
      (pool as unknown as NodeJS.EventEmitter).off(event, listener as never);
      reject(new Error(`no "${event}" event within ${WAIT_MS} ms`));
    }, WAIT_MS);
    (pool as unknown as NodeJS.EventEmitter).on(event, listener as never);
  });
}

/** Polls `check` until it is true; rejects with `what` after WAIT_MS. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The gateway side of inner links, for real: a TCP server on 127.0.0.1 that runs the encrypted handshake, decodes
 * frames, answers requests when told to, and announces its address to the register like a gateway does.
 */
class InnerGateway {
  readonly links: InnerLink<GatewayFrame>[] = [];
  readonly frames: { f: GatewayFrame; link: InnerLink<GatewayFrame> }[] = [];
  private announcer: RegisterClient | null = null;

  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  static async start(register: HostPort): Promise<InnerGateway> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const gateway = new InnerGateway(server, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('connection', (socket) => {
      const link = new InnerLink<GatewayFrame>(socket, {
        secret: SECRET,
        role: 'responder',
        decoder: new FrameDecoder(10 * 1024 * 1024),
        label: 'spec gateway peer',
        logger: new Logger('InnerGateway'),
      });
      gateway.links.push(link);
      link.on('message', (f: GatewayFrame) => void gateway.frames.push({ f, link }));
    });
    gateway.announcer = new RegisterClient({
      registers: [register],
      secret: SECRET,
      announce: gateway.address,
      logContext: 'InnerGateway',
    });
    gateway.announcer.start();
    return gateway;
  }

  /** The frames received with command `cmd`. */
  received(cmd: Cmd): { f: GatewayFrame; link: InnerLink<GatewayFrame> }[] {
    return this.frames.filter((r) => r.f.cmd === cmd);
  }

  /** Leaves the registers' list (its register link closes), keeping the inner links. */
  stopAnnouncing(): void {
    this.announcer?.stop();
  }

  async close(): Promise<void> {
    this.announcer?.stop();
    for (const link of this.links) link.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 that refuses connections (it was bound, then released). */
async function refusingAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

describe('GatewayLinkPool (a real register and real inner links on 127.0.0.1)', () => {
  let register: RegisterServer;
  let registerAddress: HostPort;
  const pools: GatewayLinkPool[] = [];
  const gateways: InnerGateway[] = [];
  const announcers: RegisterClient[] = [];

  function pool(hello: GatewayHello = workerHello('spec'), registers = [registerAddress]): GatewayLinkPool {
    const p = new GatewayLinkPool({ registers, secret: SECRET, hello, reconnectDelayMs: 40 });
    pools.push(p);
    p.start();
    return p;
  }

  async function gateway(): Promise<InnerGateway> {
    const g = await InnerGateway.start(registerAddress);
    gateways.push(g);
    return g;
  }

  /** Has the register list `address` (a gateway whose inner port may be anything, even closed). */
  function announce(address: string): RegisterClient {
    const a = new RegisterClient({
      registers: [registerAddress],
      secret: SECRET,
      announce: address,
      logContext: 'Announcer',
    });
    announcers.push(a);
    a.start();
    return a;
  }

  beforeAll(async () => {
    Logger.overrideLogger(recorder);
    register = new RegisterServer(resolveRegisterOptions({ listen: '127.0.0.1:0', secret: SECRET }));
    const { port } = await register.listen();
    registerAddress = { host: '127.0.0.1', port };
  });

  afterEach(async () => {
    for (const p of pools.splice(0)) p.stop();
    for (const a of announcers.splice(0)) a.stop();
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    logged.length = 0;
  });

  afterAll(async () => {
    await register.close();
  });

  it('links every listed gateway and says who it is with the hello it was given: a worker key, or GatewayClientConnect', async () => {
    const g = await gateway();
    const worker = pool(workerHello('spec-worker'));
    const client = pool(sdkClientHello());
    await Promise.all([
      next(worker, 'gateway', (a, s) => a === g.address && s === 'up'),
      next(client, 'gateway', (a, s) => a === g.address && s === 'up'),
    ]);
    await until(() => g.frames.length === 2, 'both hellos');

    const [workerConnect] = g.received(Cmd.WorkerConnect);
    expect(JSON.parse(workerConnect.f.body.toString())).toEqual({ worker_key: worker.key });
    expect(worker.key).toMatch(new RegExp(`^spec-worker:${process.pid}-\\d+$`));
    expect(g.received(Cmd.GatewayClientConnect)).toHaveLength(1);
    expect(worker.openAddresses()).toEqual([g.address]);
    expect(await client.gateways(WAIT_MS)).toEqual([g.address]);
    // The lines operators (and the e2e suite) wait for.
    expect(logged).toContain(`Worker connected to gateway ${g.address}`);
    expect(logged).toContain(`connected to gateway ${g.address}`);
  });

  it('hands every frame but replies to its frame listeners, with the link it came on, and answers requests in any order', async () => {
    const g = await gateway();
    const worker = pool();
    await next(worker, 'gateway', (_, s) => s === 'up');
    await until(() => g.links.length === 1 && g.links[0].isOpen, 'the gateway side of the link');

    const event = next(worker, 'frame');
    g.links[0].send(encodeFrame(frame({ cmd: Cmd.OnMessage, connectionId: 7, body: Buffer.from('hi') })));
    const [f, address, link] = await event;
    expect([f.cmd, f.connectionId, f.body.toString(), address, link.isOpen]).toEqual([
      Cmd.OnMessage,
      7,
      'hi',
      g.address,
      true,
    ]);

    const first = worker.request(g.address, { cmd: Cmd.IsOnline, connectionId: 1 }, {}, WAIT_MS);
    const second = worker.request(g.address, { cmd: Cmd.GetClientInfo, connectionId: 2 }, {}, WAIT_MS);
    await until(
      () => g.received(Cmd.GetClientInfo).length === 1 && g.received(Cmd.IsOnline).length === 1,
      'both requests',
    );
    const rid = (cmd: Cmd) => readRequestId(g.received(cmd)[0].f.ext)!;
    g.links[0].send(encodeReply(rid(Cmd.GetClientInfo), '"u1"'));
    g.links[0].send(encodeReply(rid(Cmd.IsOnline), 'true'));
    await expect(first).resolves.toBe(true);
    await expect(second).resolves.toBe('u1');
  });

  it('fails the requests waiting on a link that closes, reports it down, links the still-listed gateway again, and backs off anew next time', async () => {
    const g = await gateway();
    const worker = pool();
    await next(worker, 'gateway', (_, s) => s === 'up');
    await until(() => g.links.length === 1 && g.links[0].isOpen, 'the gateway side of the link');
    const pending = worker.request(g.address, { cmd: Cmd.IsOnline, connectionId: 1 }, {}, WAIT_MS);
    await until(() => g.received(Cmd.IsOnline).length === 1, 'the request');

    const down = next(worker, 'gateway', (a, s) => a === g.address && s === 'down');
    const upAgain = down.then(() => next(worker, 'gateway', (a, s) => a === g.address && s === 'up'));
    g.links[0].destroy();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`^gateway ${g.address} unavailable: link closed`));
    await upAgain;
    // The new link said who it is again, first thing.
    await until(() => g.received(Cmd.WorkerConnect).length === 2, 'the second hello');
    expect(g.links.map((l) => l.isOpen)).toEqual([false, true]);
    // One line for the outage, saying when the first retry comes (20 to 40 ms) and how retries back off.
    const outages = () => logged.filter((l) => l.startsWith(`link to gateway ${g.address} closed`));
    expect(outages()).toEqual([
      expect.stringMatching(/; reconnecting in (2\d|3\d|40) ms, backing off from 40 ms up to 30 s$/),
    ]);

    // The link opened, so the next outage starts over at the first delay (without the reset: 40 to 80 ms).
    const upOnceMore = next(worker, 'gateway', (a, s) => a === g.address && s === 'down').then(() =>
      next(worker, 'gateway', (a, s) => a === g.address && s === 'up'),
    );
    g.links[1].destroy();
    await upOnceMore;
    expect(outages()).toHaveLength(2);
    expect(Number(/reconnecting in (\d+) ms/.exec(outages()[1])![1])).toBeLessThanOrEqual(40);
  });

  it('links a gateway listed again (restarted, re-registered) at once, not when its pending retry would fire', async () => {
    const g = await gateway();
    // Retries 30 to 60 s away: the test ends long before one fires.
    const worker = new GatewayLinkPool({
      registers: [registerAddress],
      secret: SECRET,
      hello: workerHello('spec'),
      reconnectDelayMs: 60_000,
    });
    pools.push(worker);
    worker.start();
    await next(worker, 'gateway', (a, s) => a === g.address && s === 'up');
    const down = next(worker, 'gateway', (a, s) => a === g.address && s === 'down');
    g.links[0].destroy();
    await down;
    expect(logged.filter((l) => l.startsWith(`link to gateway ${g.address} closed`))).toEqual([
      expect.stringMatching(/; reconnecting in [3-6]\d\d\d\d ms/),
    ]);
    // The gateway leaves the list and comes back, as a restarted gateway does.
    g.stopAnnouncing();
    await until(() => !worker.directory.has(g.address), 'the gateway to leave the list');
    const up = next(worker, 'gateway', (a, s) => a === g.address && s === 'up');
    announce(g.address);
    await up;
    // The new link is the gateway's second, open long before the pending retry (30 to 60 s) would have fired.
    await until(() => g.links.length === 2 && g.links[1].isOpen, 'the new link');
    expect(g.links.map((l) => l.isOpen)).toEqual([false, true]);
  });

  it('calls a gateway that is not listed offline: deliver resolves false and request NOT_REGISTERED, nothing sent', async () => {
    const g = await gateway();
    const client = pool(sdkClientHello());
    await next(client, 'gateway', (_, s) => s === 'up');
    const gone = await refusingAddress();
    await expect(client.deliver(gone, encodeFrame(frame({ cmd: Cmd.SendToOne })), WAIT_MS)).resolves.toBe(false);
    await expect(client.request(gone, { cmd: Cmd.IsOnline }, {}, WAIT_MS)).resolves.toBe(NOT_REGISTERED);
    expect(client.openAddresses()).toEqual([g.address]);
    // Nothing went anywhere: the one gateway there is got the hello only.
    await new Promise((r) => setTimeout(r, 20));
    expect(g.frames.map((r) => r.f.cmd)).toEqual([Cmd.GatewayClientConnect]);
  });

  it('waits for the first list, and rejects with RegisterUnavailableError when no register answers', async () => {
    const silent = await refusingAddress();
    const [host, port] = silent.split(':');
    const unstarted = new GatewayLinkPool({ registers: [registerAddress], secret: SECRET, hello: sdkClientHello() });
    await expect(unstarted.gateways(50)).rejects.toThrow('gateway links are not started');

    const client = pool(sdkClientHello(), [{ host, port: Number(port) }]);
    await expect(client.gateways(100)).rejects.toEqual(new RegisterUnavailableError([silent], 100));
    await expect(client.request('127.0.0.1:1', { cmd: Cmd.IsOnline }, {}, 100)).rejects.toBeInstanceOf(
      RegisterUnavailableError,
    );
  });

  it('makes a caller wait for a listed gateway\'s link: an error after the timeout, "offline" once it leaves the list', async () => {
    const unreachable = await refusingAddress();
    const announcer = announce(unreachable);
    await until(() => register.addresses.includes(unreachable), 'the register to list it');
    const client = pool(sdkClientHello());
    await expect(client.gateways(WAIT_MS)).resolves.toEqual([unreachable]);

    const bytes = encodeFrame(frame({ cmd: Cmd.SendToOne }));
    const late = await client.deliver(unreachable, bytes, 100).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(GatewayUnavailableError);
    expect((late as Error).message).toMatch(new RegExp(`^gateway ${unreachable} unavailable: no link within \\d+ ms$`));

    const waiting = client.request(unreachable, { cmd: Cmd.IsOnline }, {}, 15_000);
    announcer.stop();
    await expect(waiting).resolves.toBe(NOT_REGISTERED);
  });

  it('reports the fire-and-forget commands a closing link never sent, each at most once', async () => {
    const g = await gateway();
    const client = pool(sdkClientHello());
    await next(client, 'gateway', (_, s) => s === 'up');
    await until(() => g.links.length === 1 && g.links[0].isOpen, 'the gateway side of the link');
    g.links[0].socket.pause(); // the gateway stops reading: what we send piles up in Node's socket buffer

    // One report per command, each knowing which command it is.
    const reports: { command: number; address: string; reason: string }[] = [];
    const lost = (command: number): UnsentReport => ({
      commandNotSent: (address, reason) => void reports.push({ command, address, reason }),
    });
    const chunk = encodeFrame(frame({ cmd: Cmd.SendToAll, body: Buffer.alloc(256 * 1024) }));
    let sent = 0;
    for (; sent < 400 && client.pendingBytes(g.address) < 4 * 1024 * 1024; sent++) {
      await client.deliver(g.address, chunk, WAIT_MS, lost(sent));
      await new Promise((r) => setImmediate(r));
    }
    expect(client.pendingBytes(g.address)).toBeGreaterThanOrEqual(4 * 1024 * 1024);

    g.links[0].destroy();
    await until(() => reports.length > 0 && client.openAddresses().length === 0, 'the report of the unsent commands');
    await new Promise((r) => setTimeout(r, 50)); // a second report of a command would come now
    expect(reports.every((r) => r.address === g.address)).toBe(true);
    expect(reports[0].reason).toMatch(/^link closed before the command left this process/);
    const commands = reports.map((r) => r.command);
    expect(new Set(commands).size).toBe(commands.length);
    // The last commands sent are the ones still in this process when the link broke.
    expect(commands).toContain(sent - 1);
  });
});
