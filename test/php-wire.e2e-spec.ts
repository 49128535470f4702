import { encodeClientId, ipv4ToNumber } from 'nest-gateway-worker/internal';
import { Cmd } from '../packages/nest-gateway-worker/src/protocol/command';
import type { GatewayFrame } from '../packages/nest-gateway-worker/src/protocol/frame';
import { FakePhpGateway } from '../packages/nest-gateway-worker/src/php/testdata/fake-php-gateway';
import { FakePhpPeer } from '../packages/nest-gateway-worker/src/php/testdata/fake-php-peer';
import { phpVector, vectorBytes } from '../packages/nest-gateway-worker/src/php/testdata/php-vectors';
import { eventually } from './support/eventually';
import { exampleWorkerApi, gatewayStatsVia } from './support/example-worker-api';
import { startGateway, startRegister, startRole, startWorker, stopAll } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * The php wire profile with real processes (the built register, gateway and example worker) and PHP peers played in
 * TypeScript from the captured vectors (CI has no PHP): both directions end to end.
 */

/** Plaintext inner links, PHP's wire accepted; no PHP secret (PHP's default). */
const PHP_ENV = { SECRET_KEY: '', INNER_PLAINTEXT: 'true', WIRE_PROFILE: 'php' };
/** A Nest worker of the same cluster that keeps the native wire (possible while no PHP secret is set). */
const NATIVE_PLAINTEXT_ENV = { SECRET_KEY: '', INNER_PLAINTEXT: 'true' };

const fakes: { close(): void | Promise<void> }[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const f of fakes.splice(0)) await f.close();
  await stopAll();
});

async function open(url: string): Promise<TestClient> {
  const client = await TestClient.open(url);
  clients.push(client);
  return client;
}

describe('PHP peers into our register and gateway, beside a Nest worker', () => {
  it('a PHP BusinessWorker and a Nest worker serve one gateway; PHP GatewayClient requests are answered in PHP form', async () => {
    const { address: register } = await startRegister(PHP_ENV);
    const gateway = await startGateway(register, { ...PHP_ENV, GATEWAY_PING_INTERVAL: '0' });
    const nest = await startWorker(register, NATIVE_PLAINTEXT_ENV);
    const api = await exampleWorkerApi(nest);
    const phpWorker = await FakePhpPeer.connect(gateway.inner, 'frames');
    fakes.push(phpWorker);
    phpWorker.write(vectorBytes('V1'));
    await eventually(
      () => gatewayStatsVia(api),
      (stats) => stats.some((s) => s.address === gateway.inner && s.workers === 2),
      'both workers linked to the gateway',
    );

    // Least connections: one client each. The PHP worker's client is the one it hears about.
    const first = await open(gateway.url);
    const second = await open(gateway.url);
    const connect = await phpWorker.nextFrame();
    expect(connect.cmd).toBe(Cmd.OnConnect);
    const onWebSocketConnect = await phpWorker.nextFrame();
    expect(onWebSocketConnect).toMatchObject({
      cmd: Cmd.OnWebSocketConnect,
      connectionId: connect.connectionId,
      flag: 0,
    });
    const [phpClient, nestClient] = connect.connectionId === 1 ? [first, second] : [second, first];

    // The PHP worker gets its client's message in PHP's form and answers it like V6.
    phpClient.send('hello');
    const message = await phpWorker.nextFrame();
    expect({
      cmd: message.cmd,
      flag: message.flag,
      ext: message.ext.toString(),
      body: message.body.toString(),
    }).toEqual({ cmd: Cmd.OnMessage, flag: 1, ext: '', body: 'hello' });
    phpWorker.send({ cmd: Cmd.SendToOne, connectionId: connect.connectionId, body: Buffer.from('php says hello') });
    expect(await phpClient.text(0)).toBe('php says hello');
    // The other client is the Nest worker's: its echo.
    nestClient.send('ping');
    expect(await nestClient.text(0)).toBe('ping');

    // The PHP worker writes its client's session (V7's bytes); a PHP GatewayClient reads every session in PHP form.
    const v7 = Buffer.from(vectorBytes('V7'));
    v7.writeUInt32BE(connect.connectionId, 17);
    phpWorker.write(v7);
    const gc = await FakePhpPeer.connect(gateway.inner, 'replies');
    fakes.push(gc);
    gc.write(vectorBytes('Q1'));
    expect((await gc.nextReply()).toString()).toBe('i:2;');
    await eventually(
      async () => {
        gc.send({ cmd: Cmd.GetSessionByClientId, connectionId: connect.connectionId });
        return (await gc.nextReply()).toString();
      },
      (session) => session === phpVector('V7').fields!.ext_data,
      'the PHP session stored byte for byte',
    );

    // No acknowledgement from a PHP worker, so no redelivery: its client's event is lost with it (as in PHP), and
    // the client's next message goes to the Nest worker.
    phpClient.send('lost with the PHP worker');
    expect((await phpWorker.nextFrame()).body.toString()).toBe('lost with the PHP worker');
    phpWorker.close();
    await eventually(
      () => gatewayStatsVia(api),
      (stats) => stats.some((s) => s.address === gateway.inner && s.workers === 1),
      'the PHP worker gone',
    );
    phpClient.send('to the Nest worker');
    expect(await phpClient.text(1)).toBe('to the Nest worker');
    expect(gateway.proc.output).not.toMatch(/sending them again/);
  });
});

describe('our worker with WIRE_PROFILE=php and a PHP register and gateway', () => {
  it("identifies as PHP's BusinessWorker, runs PHP's events and answers with PHP's frames; its GatewayClient asks in PHP form", async () => {
    const php = await FakePhpGateway.start();
    fakes.push(php);
    // The captured replies of capture run A; any other request (e.g. SELECT of groups): PHP's empty array.
    php.answer = (f: GatewayFrame) => {
      for (const q of ['Q1', 'Q11', 'Q6']) {
        const request = phpVector(q).fields!;
        if (request.cmd === f.cmd && request.ext_data === f.ext.toString()) {
          return Buffer.from(phpVector(`${q}-reply`).fields!.payload!);
        }
      }
      return f.cmd === Cmd.Select ? Buffer.from('a:0:{}') : undefined;
    };
    const worker = startRole('worker', {
      ...PHP_ENV,
      REGISTER_ADDRESS: php.registerAddress,
      HTTP_LISTEN: '127.0.0.1:0',
    });
    await php.until(() => php.workerCount === 1, 'the worker linked');
    expect(php.registerLines[0]).toBe(vectorBytes('R1').toString('latin1'));
    const hello = php.framesOf(Cmd.WorkerConnect)[0].frame;
    expect(JSON.parse(hello.body.toString())).toEqual({
      worker_key: expect.stringMatching(/^worker:\d+-\d+$/),
      secret_key: '',
    });

    // V3 (connect), V4 (its handshake), V5 ("hello"): the example worker echoes; the echo is V6, byte for byte.
    php.sendToWorkers(Buffer.concat([vectorBytes('V3'), vectorBytes('V4'), vectorBytes('V5')]));
    await php.until(() => php.framesOf(Cmd.SendToOne).length > 0, 'the echo');
    expect(php.framesOf(Cmd.SendToOne)[0].bytes.equals(vectorBytes('V6'))).toBe(true);

    // The worker's GatewayClient through its HTTP API: PHP requests on their own connection, PHP replies read.
    const api = await exampleWorkerApi(worker);
    const online = (await (await fetch(`${api}/online`)).json()) as Record<string, unknown>;
    expect(online).toEqual({ clients: 1, uids: 1, groups: {} });
    const [host, port] = php.address.split(':');
    const clientId = encodeClientId({ localIp: ipv4ToNumber(host), localPort: Number(port), connectionId: 1 });
    expect(await (await fetch(`${api}/online/u42`)).json()).toEqual({
      uid: 'u42',
      online: true,
      clientIds: [clientId],
    });
    // Never a native command (100-113) on PHP's wire.
    expect(php.received.every((r) => r.frame.cmd < 100 || r.frame.cmd >= 200)).toBe(true);
    // Nothing was dropped or failed on the way (an event that does not decode is logged as dropped).
    expect(worker.output).not.toMatch(/dropped|ERROR/);
  });
});
