'use strict';
/**
 * The worker's per-event JavaScript cost alone, without sockets, encryption or other processes: a worker app
 * (GatewayModule.forWorker + an echo controller shaped like the example worker's: an untyped @OnClientMessage()
 * echo beside a typed handler) runs in this process; batches of OnMessage event frames, encoded as a gateway encodes
 * them, are decoded with the worker's FrameDecoder and handed to its EventRunner as its links would; replies and acks
 * are encoded into a batch that is emptied after every turn. Reports ns per event (median of rounds), and the
 * replies' bytes as a check that every event was answered. Also the process's own CPU ns per event (user + system):
 * run it beside a busy process on the same core (taskset) to see the cost with caches shared.
 *
 *   node bench/tools/worker-micro.js [events per round=200000] [rounds=7] [clients=1000] [payload bytes=512]
 *   WORKER_MICRO_ROOT=dir   the checkout whose packages/nest-gateway-worker/dist to load (default: this one)
 *   WORKER_MICRO_PROF=file  write a CPU profile of the measured rounds
 *
 * The register address points at a closed port: the worker's links retry in the background and never connect.
 */
require('reflect-metadata');
const path = require('node:path');
const fs = require('node:fs');

const ROOT = path.resolve(process.env.WORKER_MICRO_ROOT || path.join(__dirname, '..', '..'));
const PKG = path.join(ROOT, 'packages', 'nest-gateway-worker', 'dist');
const { NestFactory } = require(require.resolve('@nestjs/core', { paths: [ROOT] }));
const { Controller, Module } = require(require.resolve('@nestjs/common', { paths: [ROOT] }));
const gw = require(path.join(PKG, 'index.js'));
const internal = require(path.join(PKG, 'internal.js'));
const { writeEventFrame } = require(path.join(PKG, 'protocol', 'event-envelope.js'));

const [eventsPerRound = 200000, rounds = 7, clients = 1000, payloadBytes = 512] = process.argv.slice(2).map(Number);
const BATCH = 35; // events per record at 1000 × 1 (measured: records sealed per message on the gateway)
const ADDRESS = '127.0.0.1:7001';

class EchoController {
  echo(message) {
    return message;
  }
  join(body) {
    return { type: 'joined', room: body.room };
  }
}
Controller()(EchoController);
for (const [method, type] of [
  ['echo', undefined],
  ['join', 'join'],
]) {
  Reflect.defineMetadata('design:paramtypes', [Object], EchoController.prototype, method);
  const descriptor = Object.getOwnPropertyDescriptor(EchoController.prototype, method);
  (type === undefined ? gw.OnClientMessage() : gw.OnClientMessage(type))(EchoController.prototype, method, descriptor);
  gw.MessageBody()(EchoController.prototype, method, 0);
  Object.defineProperty(EchoController.prototype, method, descriptor);
}

/** A link's batch as InnerLink.reserve/reservedAt/commit give it, emptied by the caller after every turn. */
class Batch {
  constructor() {
    this.buf = Buffer.allocUnsafe(1 << 20);
    this.fill = 0;
    this.reservedAt = 0;
    this.bytes = 0;
    this.isOpen = true;
  }
  reserve(length) {
    if (this.fill + length > this.buf.length) this.drain();
    this.reservedAt = this.fill;
    return this.buf;
  }
  commit(length) {
    this.fill += length;
  }
  drain() {
    this.bytes += this.fill;
    this.fill = 0;
  }
}

function eventBatches(clientCount, payload) {
  // One record's worth of events per batch, the clients in turn, as the gateway writes them into its link's batch.
  const header = {
    cmd: internal.Cmd.OnMessage,
    localIp: 0x7f000001,
    localPort: 7001,
    clientIp: 0x7f000001,
    clientPort: 0,
    connectionId: 0,
    flag: 0,
    gatewayPort: 7000,
  };
  const batches = [];
  const out = new Batch();
  let seq = 1;
  for (let c = 0; c < clientCount; c += BATCH) {
    out.fill = 0;
    for (let i = c; i < Math.min(c + BATCH, clientCount); i++) {
      header.connectionId = i + 1;
      header.clientPort = 20000 + i;
      writeEventFrame(out, header, payload, 0, 'null', undefined, undefined, seq++);
    }
    batches.push(Buffer.from(out.buf.subarray(0, out.fill)));
  }
  return batches;
}

async function main() {
  const options = {
    registers: [internal.parseHostPort('REGISTER_ADDRESS', '127.0.0.1:9')],
    secret: Buffer.from('worker-micro-secret-0123456789ab'),
    name: 'micro',
  };
  class MicroModule {}
  Module({ imports: [gw.GatewayModule.forWorker(options)], controllers: [EchoController] })(MicroModule);
  // WORKER_MICRO_APP=file.js: a compiled module exporting WorkerAppModule (the example worker's, built with tsc)
  const root = process.env.WORKER_MICRO_APP
    ? require(path.resolve(process.env.WORKER_MICRO_APP)).WorkerAppModule.configure(options)
    : MicroModule;
  const app = await NestFactory.createMicroservice(root, {
    inject: [gw.GatewayTransport],
    useFactory: (transport) => ({ strategy: transport }),
    logger: ['error'],
  });
  await app.listen();
  const transport = app.get(gw.GatewayTransport);
  const runner = transport.runner;
  const batch = new Batch();
  // The links as a connected gateway's: replies and acks go into `batch`.
  transport.links.batchFor = () => batch;
  transport.links.send = (address, bytes) => {
    batch.bytes += bytes.length;
  };
  const link = batch;
  const payload = Buffer.from('x'.repeat(payloadBytes));
  const records = eventBatches(clients, payload);

  const turn = (decoder, record) => {
    const frames = decoder.push(record);
    for (let i = 0; i < frames.length; i++) runner.frame(frames[i], ADDRESS, link);
  };
  // WORKER_MICRO_THRASH=bytes: touch that much other memory before every record (caches as cold as after another
  // process ran); the time spent touching is measured and taken out of the figures.
  const thrash = process.env.WORKER_MICRO_THRASH ? Buffer.alloc(Number(process.env.WORKER_MICRO_THRASH)) : null;
  let thrashNs = 0; // the touching's own time, taken out of the figures
  const round = (events) =>
    new Promise((resolve) => {
      const decoder = new internal.FrameDecoder();
      let done = 0;
      let r = 0;
      const start = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      thrashNs = 0;
      const step = () => {
        // One record per turn: the acks' nextTick flush and the end of turn come between records, as on a link.
        if (thrash !== null) {
          const t0 = process.hrtime.bigint();
          for (let i = 0; i < thrash.length; i += 64) thrash[i]++;
          thrashNs += Number(process.hrtime.bigint() - t0);
        }
        turn(decoder, records[r]);
        done += BATCH;
        r = (r + 1) % records.length;
        batch.drain();
        if (done < events) setImmediate(step);
        else
          setImmediate(() => {
            const cpu = process.cpuUsage(cpu0);
            resolve({
              wall: (Number(process.hrtime.bigint() - start) - thrashNs) / done,
              cpu: ((cpu.user + cpu.system) * 1000 - thrashNs) / done,
            });
          });
      };
      step();
    });

  await round(eventsPerRound); // warm-up
  let session = null;
  if (process.env.WORKER_MICRO_PROF) {
    const { Session } = require('node:inspector');
    session = new Session();
    session.connect();
    await new Promise((r) => session.post('Profiler.enable', () => session.post('Profiler.start', r)));
  }
  const ns = [];
  const bytesBefore = batch.bytes;
  for (let i = 0; i < rounds; i++) ns.push(await round(eventsPerRound));
  if (session) {
    await new Promise((r) =>
      session.post('Profiler.stop', (err, { profile }) => {
        fs.writeFileSync(process.env.WORKER_MICRO_PROF, JSON.stringify(profile));
        r();
      }),
    );
  }
  const replied = (batch.bytes - bytesBefore) / (rounds * eventsPerRound);
  const median = (xs) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
  console.log(
    JSON.stringify({
      root: ROOT,
      // wall-clock ns per event, and this process's CPU ns per event (they differ when it shares its core)
      nsPerEvent: ns.map((n) => Math.round(n.wall)),
      median: median(ns.map((n) => n.wall)),
      cpuNsPerEvent: ns.map((n) => Math.round(n.cpu)),
      cpuMedian: median(ns.map((n) => n.cpu)),
      bytesOutPerEvent: Number(replied.toFixed(1)),
    }),
  );
  await app.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
