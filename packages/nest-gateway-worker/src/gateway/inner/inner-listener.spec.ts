import { Logger } from '@nestjs/common';
import { connect } from 'node:net';
import { Cmd } from '../../protocol/command';
import { encodeEventAcks } from '../../protocol/event-ack';
import { decodeEventEnvelope } from '../../protocol/event-envelope';
import { encodeFrame, frame, type GatewayFrame } from '../../protocol/frame';
import { FrameDecoder } from '../../protocol/frame-decoder';
import { decodeReply, encodeRequest } from '../../protocol/gateway-request';
import { InnerLink } from '../../protocol/inner-link';
import { ClientHub } from '../client-hub';
import { CommandTable } from '../commands/command-table';
import { resolveGatewayOptions } from '../gateway-options';
import { GatewayCounters } from '../gateway-stats';
import { InnerListener } from './inner-listener';
import { recordingSocket, TEST_HANDSHAKE as handshake } from '../testdata/test-clients';

const SECRET = 'inner-listener-spec-secret';
const quiet = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
} as unknown as Logger;

/** An inner peer over a real, encrypted loopback link: records what it receives and whether the gateway closed it. */
class Peer {
  readonly frames: GatewayFrame[] = [];
  closed = false;
  readonly link: InnerLink<GatewayFrame>;
  constructor(port: number, secret: string = SECRET) {
    this.link = new InnerLink<GatewayFrame>(connect(port, '127.0.0.1'), {
      secret: Buffer.from(secret),
      role: 'initiator',
      decoder: new FrameDecoder(1 << 20),
      label: 'peer',
      logger: quiet,
    });
    this.link.on('message', (f: GatewayFrame) => this.frames.push(f));
    this.link.on('close', () => (this.closed = true));
  }
  send(f: Parameters<typeof frame>[0]): void {
    this.link.send(encodeFrame(frame(f)));
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 4_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('InnerListener', () => {
  let hub: ClientHub;
  let inner: InnerListener;
  let port: number;
  const peers: Peer[] = [];

  beforeEach(async () => {
    for (const level of ['log', 'warn', 'error'] as const)
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    const options = resolveGatewayOptions({ secret: SECRET, lanIp: '127.0.0.1', startPort: 0, pingInterval: 0 });
    hub = new ClientHub(options, new GatewayCounters());
    inner = new InnerListener(options, hub.delivery, new CommandTable(hub));
    port = hub.address.innerPort = await inner.listen();
  });

  afterEach(async () => {
    await inner.close();
    for (const p of peers.splice(0)) p.link.destroy();
    jest.restoreAllMocks();
  });

  const peer = (secret?: string): Peer => {
    const p = new Peer(port, secret);
    peers.push(p);
    return p;
  };

  it('hands a worker (WorkerConnect with a worker_key) to event delivery, and its close too', async () => {
    const w = peer();
    w.send({ cmd: Cmd.WorkerConnect, body: Buffer.from(JSON.stringify({ worker_key: 'w1' })) });
    await until(() => hub.delivery.workerCount === 1, 'the worker to be routed to');
    w.link.destroy();
    await until(() => hub.delivery.workerCount === 0, 'the worker to be gone');
  });

  it("sends a worker its clients' events and gives its acks to delivery", async () => {
    const w = peer();
    w.send({ cmd: Cmd.WorkerConnect, body: Buffer.from(JSON.stringify({ worker_key: 'w1' })) });
    await until(() => hub.delivery.workerCount === 1, 'the worker');
    const socket = recordingSocket();
    const client = hub.opened(socket, handshake, 0x7f000001)!;
    await until(() => w.frames.some((f) => f.cmd === Cmd.OnConnect), 'the OnConnect event');
    expect(client.unacked).toBe(1);
    const seq = decodeEventEnvelope(w.frames.find((f) => f.cmd === Cmd.OnConnect)!.ext).q!;
    w.send({ cmd: Cmd.EventAck, body: encodeEventAcks([seq]) });
    await until(() => client.unacked === 0, 'the ack');
  });

  it('runs the commands of an SDK client (GatewayClientConnect) and answers on its link, without making it a worker', async () => {
    const sdk = peer();
    sdk.send({ cmd: Cmd.GatewayClientConnect });
    sdk.send({ cmd: Cmd.GetClientCountByGroup, ext: encodeRequest({ rid: 7 }) });
    await until(() => sdk.frames.length === 1, 'the reply');
    const [reply] = sdk.frames;
    expect([reply.cmd, reply.connectionId, decodeReply(reply.ext, reply.body)]).toEqual([Cmd.Reply, 7, 0]);
    expect(hub.delivery.workerCount).toBe(0);
  });

  it('drops a link whose first frame is not a hello, or a WorkerConnect without a worker_key', async () => {
    const early = peer();
    early.send({ cmd: Cmd.GetClientCountByGroup, ext: encodeRequest({ rid: 1 }) });
    const keyless = peer();
    keyless.send({ cmd: Cmd.WorkerConnect, body: Buffer.from('{}') });
    await until(() => early.closed && keyless.closed, 'both links to be dropped');
    expect(early.frames).toEqual([]);
    expect(hub.delivery.workerCount).toBe(0);
  });

  it('drops a peer that does not know the secret before it can send anything', async () => {
    const stranger = peer('another-secret-of-some-length');
    stranger.send({ cmd: Cmd.GatewayClientConnect });
    await until(() => stranger.closed && inner.linkCount === 0, 'the link to be dropped on both ends');
    expect(stranger.frames).toEqual([]);
  });

  it('close() ends every link and stops accepting', async () => {
    const sdk = peer();
    sdk.send({ cmd: Cmd.GatewayClientConnect });
    await until(() => inner.linkCount === 1, 'the link');
    await inner.close();
    expect(sdk.closed).toBe(true);
    await expect(
      new Promise((resolve, reject) => connect(port, '127.0.0.1').once('connect', resolve).once('error', reject)),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
