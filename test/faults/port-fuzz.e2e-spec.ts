import { Logger } from '@nestjs/common';
import {
  Cmd,
  FrameDecoder,
  HELLO_LENGTH,
  HELLO_MAGIC,
  InnerLink,
  PROOF_LENGTH,
  encodeFrame,
  encodeRequest,
  frame,
  sdkClientHello,
  type GatewayFrame,
} from 'nest-gateway-worker/internal';
import { connect } from 'node:net';
import { CaptureProxy } from '../support/capture-proxy';
import { within } from '../support/eventually';
import { byScale } from '../support/fault-scale';
import { mib, rssOf } from '../support/figures';
import { mutate, pick, randomBytes, randomChunks, type Rand } from '../support/fuzz-mutations';
import { formatSeed, fuzzSeed } from '../support/fuzz-seed';
import { GatewayProbe } from '../support/gateway-probe';
import { startGateway, startRegister, startWorker, stopAll, TEST_SECRET, type RoleProcess } from '../support/roles';
import { prng, randomInt } from '../support/seeded-random';
import { TestClient } from '../support/ws-client';

/**
 * Fault scenario: fuzzing the two ports anyone on the network can reach without the secret, a gateway's inner port
 * and a register. Real handshakes are captured first through a relay (an SDK client's register link, an inner link
 * identifying as an SDK client and asking for the gateway's statistics): replayed whole, they are refused (the
 * server's fresh nonce makes the old proof worthless: it answers with its hello and proof, then closes). Then
 * connections from a seeded PRNG (seed printed; FUZZ_SEED reproduces the inputs) send random bytes, bad headers
 * (a wrong magic, HTTP, a plaintext frame or register line, a hello with a wrong proof), truncated, replayed and
 * mutated real handshakes, in random pieces, and either half-close, wait for the server, or cut the connection.
 * Afterwards: every process is alive and logged no error, the rss grew by a bounded amount (printed), the processes
 * wrote a bounded number of log lines (the rejections are rate-limited per reason), the secret appears in no line,
 * and the cluster serves: a client's echo, a new worker linking through the register, a new SDK client.
 *
 * FAULT_SCALE=long: more fuzz connections per port.
 */

const CONNECTIONS = byScale({ short: 1_000, long: 20_000 }); // per port
const PARALLEL = 40;
const HOLD_MS = 300; // a connection the server has not closed by then is cut by the client
const RSS_BOUND = 96 * 1024 * 1024;

/** Connects, writes `pieces` one after the other, then half-closes or not; resolves with the server's bytes once closed. */
function exchange(address: string, pieces: Buffer[], halfClose: boolean, holdMs: number): Promise<Buffer> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const socket = connect(Number(address.slice(colon + 1)), address.slice(0, colon));
    const timer = setTimeout(() => socket.destroy(), holdMs);
    socket.on('connect', () => {
      for (const piece of pieces) socket.write(piece);
      if (halfClose) socket.end();
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received));
    });
  });
}

/** The bytes an SDK client's inner link sends up to its first request being answered: captured through a relay. */
async function captureInnerHandshake(gatewayInner: string): Promise<Buffer> {
  const relay = await CaptureProxy.start(gatewayInner);
  try {
    const colon = relay.address.lastIndexOf(':');
    const link = new InnerLink<GatewayFrame>(connect(Number(relay.address.slice(colon + 1)), '127.0.0.1'), {
      secret: Buffer.from(TEST_SECRET),
      role: 'initiator',
      decoder: new FrameDecoder(),
      label: 'capture',
      logger: new Logger('port-fuzz'),
    });
    const replied = new Promise<void>((resolve) =>
      link.on('message', (f: GatewayFrame) => f.cmd === Cmd.Reply && f.connectionId === 1 && resolve()),
    );
    link.send(sdkClientHello().frame);
    link.send(encodeFrame(frame({ cmd: Cmd.GetGatewayStats, ext: encodeRequest({ rid: 1 }) })));
    await within(replied, 'the gateway to answer the captured link', 10_000);
    link.end();
    return relay.captured(0);
  } finally {
    await relay.close();
  }
}

/** The bytes a real SDK client (GatewayModule.forClient) sends to a register until it has the gateway list. */
async function captureRegisterHandshake(registerAddress: string, gatewayInner: string): Promise<Buffer> {
  const relay = await CaptureProxy.start(registerAddress);
  const probe = await GatewayProbe.start(relay.address);
  try {
    await probe.until(gatewayInner, () => true, 'listed through the relay');
    return relay.captured(0);
  } finally {
    await probe.close();
    await relay.close();
  }
}

/** One fuzz input for a port, and how it is sent. */
function fuzzInput(rand: Rand, captures: Buffer[]): { kind: string; pieces: Buffer[]; halfClose: boolean } {
  const capture = pick(rand, captures);
  let kind: string;
  let bytes: Buffer;
  switch (randomInt(rand, 0, 5)) {
    case 0:
      kind = 'random bytes';
      bytes = randomBytes(rand, 512);
      break;
    case 1:
      kind = 'bad header';
      bytes = pick(rand, [
        Buffer.concat([Buffer.from('GWN2'), randomBytes(rand, 64)]),
        Buffer.concat([HELLO_MAGIC, randomBytes(rand, 32), randomBytes(rand, 40)]), // a hello, a wrong proof
        Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
        sdkClientHello().frame, // a plaintext (or PHP) peer
        Buffer.from('{"event":"worker_connect","secret_key":""}\n'),
        Buffer.concat([HELLO_MAGIC.subarray(0, randomInt(rand, 1, 3)), randomBytes(rand, 8)]),
      ]);
      break;
    case 2:
      kind = 'truncated handshake';
      bytes = capture.subarray(0, randomInt(rand, 1, Math.max(1, capture.length - 1)));
      break;
    case 3:
      kind = 'replayed handshake';
      bytes = capture;
      break;
    default:
      kind = 'mutated handshake';
      bytes = mutate(rand, capture, [HELLO_LENGTH, PROOF_LENGTH, 16, 1024 * 1024 + 17]);
  }
  return { kind, pieces: randomChunks(rand, bytes).slice(0, 64), halfClose: rand() < 0.5 };
}

describe('fault: fuzzing the inner and register ports', () => {
  const clients: TestClient[] = [];
  const probes: GatewayProbe[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of probes.splice(0)) await p.close();
    await stopAll();
  });

  it(
    `${CONNECTIONS} fuzz connections per port: refused, the processes alive and quiet, the cluster serving`,
    async () => {
      const started = performance.now();
      const register = await startRegister();
      const gateway = await startGateway(register.address);
      await startWorker(register.address, {}, gateway.inner);
      const probe = await GatewayProbe.start(register.address);
      probes.push(probe);
      const client = await TestClient.open(gateway.url);
      clients.push(client);
      client.send('before');
      expect(await client.text(0, 10_000)).toBe('before');

      const inner = await captureInnerHandshake(gateway.inner);
      const toRegister = await captureRegisterHandshake(register.address, gateway.inner);
      // A real link: hello, proof, then at least one record (the SDK hello frame / the worker_connect line).
      for (const c of [inner, toRegister]) {
        expect(c.subarray(0, 4).equals(HELLO_MAGIC)).toBe(true);
        expect(c.length).toBeGreaterThan(HELLO_LENGTH + PROOF_LENGTH);
      }

      // Replayed whole, each is refused: the server sends its own hello and proof, reads the stale proof, and closes.
      const rejectedBefore = (await probe.stats(gateway.inner))!.counters.innerLinksRejected;
      for (const [address, capture] of [
        [gateway.inner, inner],
        [register.address, toRegister],
        [gateway.inner, toRegister],
        [register.address, inner],
      ] as const) {
        const answer = await exchange(address, [capture], false, 15_000);
        expect(answer.length).toBe(HELLO_LENGTH + PROOF_LENGTH);
      }
      const afterReplays = await probe.until(
        gateway.inner,
        (s) => s.counters.innerLinksRejected >= rejectedBefore + 2,
        'both replays counted as rejected',
      );
      expect(afterReplays.counters.innerLinksRejected).toBe(rejectedBefore + 2);

      // ---- the fuzz
      const seed = fuzzSeed();
      const rand = prng(seed);
      const captures = [inner, toRegister];
      const inputs = Array.from({ length: 2 * CONNECTIONS }, (_, i) => ({
        address: i % 2 === 0 ? gateway.inner : register.address,
        ...fuzzInput(rand, captures),
      }));
      const kinds = new Map<string, number>();
      for (const input of inputs) kinds.set(input.kind, (kinds.get(input.kind) ?? 0) + 1);
      const processes: RoleProcess[] = [gateway.proc, register.proc];
      const linesBefore = processes.map((p) => p.lines.length);
      const rssBefore = { gateway: afterReplays.memoryRss, register: rssOf(register.proc.child.pid!) };
      const fuzzStarted = performance.now();
      let next = 0;
      let closedByServer = 0;
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < inputs.length) {
            const { address, pieces, halfClose } = inputs[next++];
            const t0 = performance.now();
            await exchange(address, pieces, halfClose, HOLD_MS);
            if (performance.now() - t0 < HOLD_MS) closedByServer++;
          }
        }),
      );
      const fuzzSeconds = (performance.now() - fuzzStarted) / 1000;

      // ---- afterwards
      expect(gateway.proc.running).toBe(true);
      expect(register.proc.running).toBe(true);
      client.send('after');
      expect(await client.text(1, 10_000)).toBe('after');
      const stats = await probe.until(gateway.inner, () => true, 'statistics after the fuzz');
      const fresh = await GatewayProbe.start(register.address); // a new SDK client learns the gateway from the register
      probes.push(fresh);
      await fresh.until(gateway.inner, () => true, 'listed and answering a new SDK client');
      await startWorker(register.address, { WORKER_NAME: 'after-fuzz' }, gateway.inner);
      await probe.workers(gateway.inner, 2);

      const lines = processes.map((p, i) => p.lines.slice(linesBefore[i]));
      const rssAfter = { gateway: stats.memoryRss, register: rssOf(register.proc.child.pid!) };
      const rejected = stats.counters.innerLinksRejected - afterReplays.counters.innerLinksRejected;
      const registerRss =
        rssBefore.register === undefined || rssAfter.register === undefined
          ? 'n/a'
          : `${mib(rssBefore.register)} → ${mib(rssAfter.register)}`;
      console.log(
        `fault port-fuzz: seed ${formatSeed(seed)}; ${inputs.length} connections (${CONNECTIONS} per port, ` +
          `${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}) in ${fuzzSeconds.toFixed(1)} s, ` +
          `${closedByServer} closed by the server, the rest cut after ${HOLD_MS} ms; gateway innerLinksRejected +${rejected}; ` +
          `log lines during the fuzz: gateway ${lines[0].length}, register ${lines[1].length}; ` +
          `rss gateway ${mib(rssBefore.gateway)} → ${mib(rssAfter.gateway)}, register ${registerRss}; ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      for (const [i, p] of processes.entries()) {
        expect(lines[i].filter((l) => / (ERROR|FATAL) |Unhandled|^\s+at /.test(l))).toEqual([]);
        expect(p.output).not.toContain(TEST_SECRET);
        // Two reasons reach a listener here (not the protocol, a wrong proof): per reason the first line, then at
        // most one summary per 10 s; a few lines of the cluster's own life (a worker linking) besides.
        expect(lines[i].length).toBeLessThanOrEqual(4 * (2 + Math.ceil(fuzzSeconds / 10)) + 10);
      }
      expect(rejected).toBeGreaterThan(0);
      expect(rejected).toBeLessThanOrEqual(CONNECTIONS);
      expect(rssAfter.gateway - rssBefore.gateway).toBeLessThan(RSS_BOUND);
      if (rssBefore.register !== undefined && rssAfter.register !== undefined) {
        expect(rssAfter.register - rssBefore.register).toBeLessThan(RSS_BOUND);
      }
    },
    byScale({ short: 120_000, long: 600_000 }),
  );
});
