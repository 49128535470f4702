import {
  ClientId,
  FramingError,
  GatewayServer,
  Handshake,
  MessageBody,
  OnClientMessage,
  type ClientFraming,
  type ClientHandshake,
  type FramingDecoder,
} from 'nest-gateway-worker';
import { parseHostPort, resolveGatewayOptions } from 'nest-gateway-worker/internal';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { eventually, exitWithin, sleep } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import {
  startGateway,
  startRegister,
  startRole,
  startWorker,
  stopAll,
  TEST_SECRET,
  type RoleProcess,
} from './support/roles';
import { TcpTestClient } from './support/tcp-client';
import { TestPki } from './support/test-pki';
import { TestClient } from './support/ws-client';

/**
 * Client listeners: one gateway with ws://, wss://, text:// and frame:// listeners; clients of every kind
 * share client ids, groups and the API; the worker sees which listener each client came through; oversize
 * and malformed input close only the offending connection; bad GATEWAY_LISTEN / TLS settings stop the process.
 */

/** Either kind of test client, as the chat needs it. */
type Peer = TestClient | TcpTestClient;

const FOUR_LISTENERS = 'ws://127.0.0.1:0,wss://127.0.0.1:0,text://127.0.0.1:0,frame://127.0.0.1:0';
const OPEN_TIMEOUT_MS = 15_000;

/** A self-signed certificate for 127.0.0.1 and its key, plus an unrelated key, made with the openssl CLI. */
interface ListenerPki {
  dir: string;
  cert: string;
  key: string;
  otherKey: string;
  garbage: string;
}

function makeTestPki(): ListenerPki {
  const pki = TestPki.create('gateway-listeners');
  const own = pki.selfSigned('cert');
  return {
    dir: pki.dir,
    cert: own.cert,
    key: own.key,
    otherKey: pki.key('other-key'),
    garbage: pki.file('garbage.pem', '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n'),
  };
}

/** The JSON messages a client received, in order (other messages skipped). */
function jsonOf(peer: Peer): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const m of peer.received) {
    try {
      out.push(JSON.parse(m.data.toString('utf8')) as Record<string, unknown>);
    } catch {
      // not JSON
    }
  }
  return out;
}

/** A custom framing, as the README shows it: a 2-byte big-endian length, then the message (binary). */
class Length16Framing implements ClientFraming {
  readonly name = 'len16';
  readonly binary = true;

  createDecoder(maxMessageBytes: number, onMessage: (message: Buffer) => void): FramingDecoder {
    let buffered: Buffer = Buffer.alloc(0);
    return {
      push(chunk: Buffer): void {
        buffered = buffered.length > 0 ? Buffer.concat([buffered, chunk]) : chunk;
        while (buffered.length >= 2) {
          const length = buffered.readUInt16BE(0);
          if (length > maxMessageBytes) throw FramingError.oversize(maxMessageBytes); // before buffering it
          if (buffered.length < 2 + length) return;
          onMessage(buffered.subarray(2, 2 + length));
          buffered = buffered.subarray(2 + length);
        }
      },
    };
  }

  encode(message: Buffer): Buffer {
    const out = Buffer.allocUnsafe(2 + message.length);
    out.writeUInt16BE(message.length, 0);
    message.copy(out, 2);
    return out;
  }
}

describe('gateway client listeners (ws, wss, text, frame)', () => {
  let pki: ListenerPki;
  let ca: Buffer;
  const peers: Peer[] = [];
  const apps: INestMicroservice[] = [];
  let server: GatewayServer | null = null;

  beforeAll(() => {
    pki = makeTestPki();
    ca = readFileSync(pki.cert);
  });

  afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

  afterEach(async () => {
    for (const p of peers.splice(0)) p.close();
    for (const app of apps.splice(0)) await app.close();
    await server?.stop();
    server = null;
    await stopAll();
  });

  async function openAll(
    urls: string[],
    wsPath = '',
  ): Promise<{ ws: TestClient; wss: TestClient; text: TcpTestClient; frame: TcpTestClient }> {
    const [wsUrl, wssUrl, textUrl, frameUrl] = urls;
    const all = {
      ws: await TestClient.open(wsUrl + wsPath, {}, OPEN_TIMEOUT_MS),
      wss: await TestClient.open(wssUrl + wsPath, {}, OPEN_TIMEOUT_MS, { ca }),
      text: await TcpTestClient.open(textUrl),
      frame: await TcpTestClient.open(frameUrl),
    };
    peers.push(all.ws, all.wss, all.text, all.frame);
    return all;
  }

  function tlsEnv(): Record<string, string> {
    return { GATEWAY_TLS_CERT: pki.cert, GATEWAY_TLS_KEY: pki.key };
  }

  it('lists every listener with its bound port; ws, wss, text and frame clients chat in one group', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address, { GATEWAY_LISTEN: FOUR_LISTENERS, ...tlsEnv() });
    expect(gateway.urls).toHaveLength(4);
    ['ws', 'wss', 'text', 'frame'].forEach((scheme, i) =>
      expect(gateway.urls[i]).toMatch(new RegExp(`^${scheme}://127\\.0\\.0\\.1:[1-9]\\d*$`)),
    );
    expect(new Set(gateway.urls.map((u) => u.split(':')[2])).size).toBe(4);
    expect(gateway.url).toBe(gateway.urls[0]);
    await startWorker(register.address, {}, gateway.inner);

    const clients = await openAll(gateway.urls);
    const names = Object.keys(clients) as (keyof typeof clients)[];
    const ids: Record<string, string> = {};
    // One after another, so each welcome lists the ones before.
    for (const name of names) {
      const peer = clients[name];
      peer.send(JSON.stringify({ type: 'login', name, room: 'mixed' }));
      await eventually(
        () => jsonOf(peer),
        (ms) => ms.some((m) => m.type === 'welcome'),
        `${name}'s welcome`,
        20_000,
      );
      ids[name] = jsonOf(peer).find((m) => m.type === 'welcome')!.client_id as string;
    }
    // One connection table: distinct client_ids of one gateway (same lan ip and inner port), whatever the listener.
    expect(Object.values(ids).every((id) => /^[0-9a-f]{20}$/.test(id))).toBe(true);
    expect(new Set(Object.values(ids)).size).toBe(4);
    expect(new Set(Object.values(ids).map((id) => id.slice(0, 12))).size).toBe(1);
    const lastWelcome = jsonOf(clients.frame).find((m) => m.type === 'welcome')!;
    expect(Object.keys(lastWelcome.client_list as object).sort()).toEqual(Object.values(ids).sort());

    for (const name of names) clients[name].send(JSON.stringify({ type: 'say', content: `hello from ${name}` }));
    for (const name of names) {
      const heard = () =>
        jsonOf(clients[name])
          .filter((m) => m.type === 'say')
          .map((m) => `${m.from_client_name}:${m.content}`);
      await eventually(heard, (h) => h.length >= 4, `${name} to hear all four`, 20_000);
      expect(heard().sort()).toEqual(names.map((n) => `${n}:hello from ${n}`).sort());
    }

    // A private message from a text client to a frame client (sendToClient across listeners).
    clients.text.send(JSON.stringify({ type: 'say', content: 'psst', to: ids.frame }));
    await eventually(
      () => jsonOf(clients.frame),
      (ms) => ms.some((m) => m.type === 'say' && m.content === 'psst'),
      'the private message at the frame client',
      20_000,
    );
    const whisper = jsonOf(clients.frame).find((m) => m.content === 'psst')!;
    expect(whisper).toMatchObject({ from_client_id: ids.text, from_client_name: 'text', to_client_id: ids.frame });
    expect(jsonOf(clients.ws).some((m) => m.content === 'psst')).toBe(false);
  });

  it('tells the worker which listener and protocol each client came through', async () => {
    @Controller()
    class WhoAmIController {
      @OnClientMessage('whoami')
      whoami(@ClientId() id: string, @Handshake() handshake: ClientHandshake) {
        const { listener, protocol, url, remoteAddress, query } = handshake;
        return { type: 'you', id, listener, protocol, url, remoteAddress, query };
      }
    }
    const register = await startRegister();
    const gateway = await startGateway(register.address, { GATEWAY_LISTEN: FOUR_LISTENERS, ...tlsEnv() });
    const { app } = await startInProcessWorker(
      [WhoAmIController],
      {
        registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
        secret: Buffer.from(TEST_SECRET),
        name: 'whoami',
      },
      [gateway.inner],
    );
    apps.push(app);

    const clients = await openAll(gateway.urls, '/?via=web');
    const expected = [
      [clients.ws, gateway.urls[0], 'ws', '/?via=web', { via: 'web' }],
      [clients.wss, gateway.urls[1], 'wss', '/?via=web', { via: 'web' }],
      [clients.text, gateway.urls[2], 'text', '', {}],
      [clients.frame, gateway.urls[3], 'frame', '', {}],
    ] as const;
    for (const [peer] of expected) peer.send('{"type":"whoami"}');
    for (const [peer, listener, protocol, url, query] of expected) {
      await eventually(
        () => jsonOf(peer),
        (ms) => ms.some((m) => m.type === 'you'),
        `the ${protocol} client's answer`,
        20_000,
      );
      expect(jsonOf(peer).find((m) => m.type === 'you')).toMatchObject({
        listener,
        protocol,
        url,
        query,
        remoteAddress: '127.0.0.1',
      });
    }
  });

  it('closes only the offending connection: 1009 with a reason on WebSocket, the end of a text/frame connection', async () => {
    const register = await startRegister();
    server = new GatewayServer(
      resolveGatewayOptions({
        listeners: [
          { url: 'ws://127.0.0.1:0' },
          { url: 'wss://127.0.0.1:0', tls: { cert: ca, key: readFileSync(pki.key) } },
          { url: 'text://127.0.0.1:0' },
          { url: 'frame://127.0.0.1:0' },
        ],
        lanIp: '127.0.0.1',
        startPort: 0,
        registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
        secret: Buffer.from(TEST_SECRET),
        maxMessageSize: 1024,
      }),
    );
    const { clientUrls, innerAddress } = await server.start();
    await startWorker(register.address, {}, innerAddress); // the example worker echoes other messages

    const bystanders = await openAll(clientUrls);
    const victims = await openAll(clientUrls);
    const malformed = await TcpTestClient.open(clientUrls[3]);
    peers.push(malformed);

    victims.ws.send('x'.repeat(1025));
    victims.wss.send(Buffer.alloc(4096), true);
    victims.text.sendRaw(Buffer.alloc(1025, 0x78)); // no "\n" yet: refused before the line ends
    const header = Buffer.alloc(4);
    header.writeUInt32BE(4 + 1025);
    victims.frame.sendRaw(header); // a header announcing 1025 bytes: refused before they arrive
    malformed.sendRaw(Buffer.from([0, 0, 0, 3]));

    expect(await victims.ws.closed).toBe(1009);
    expect(victims.ws.closeReason).toBe('message too big (limit 1024 bytes)');
    expect(await victims.wss.closed).toBe(1009);
    expect(victims.wss.closeReason).toBe('message too big (limit 1024 bytes)');
    await Promise.all([victims.text.closed, victims.frame.closed, malformed.closed]);
    expect(server.counters.oversizeDisconnects).toBe(4);
    expect(server.counters.malformedDisconnects).toBe(1);

    // Everyone else is still connected and served; a message of exactly the limit passes on every listener.
    const atLimit = 'y'.repeat(1024);
    for (const peer of Object.values(bystanders)) peer.send(atLimit);
    for (const [name, peer] of Object.entries(bystanders)) {
      expect({ name, echo: await peer.text(0, 20_000) }).toEqual({ name, echo: atLimit });
    }
    expect(bystanders.ws.closeCode).toBeNull();
    expect(bystanders.wss.closeCode).toBeNull();
    expect(bystanders.text.ended || bystanders.frame.ended).toBe(false);
  });

  it('delivers the messages a text/frame client sent before a bad one in the same chunk, then closes it', async () => {
    const seen: string[] = [];
    @Controller()
    class RecordController {
      @OnClientMessage()
      record(@MessageBody() body: string) {
        seen.push(body);
      }
    }
    const register = await startRegister();
    const gateway = await startGateway(register.address, {
      GATEWAY_LISTEN: 'text://127.0.0.1:0,frame://127.0.0.1:0',
      GATEWAY_MAX_MESSAGE_BYTES: '64',
    });
    const { app } = await startInProcessWorker(
      [RecordController],
      { registers: [parseHostPort('REGISTER_ADDRESS', register.address)], secret: Buffer.from(TEST_SECRET) },
      [gateway.inner],
    );
    apps.push(app);
    const [textUrl, frameUrl] = gateway.urls;
    const text = await TcpTestClient.open(textUrl);
    const frame = await TcpTestClient.open(frameUrl);
    peers.push(text, frame);
    // One write each: two good messages, then one the framing refuses (a line over the limit; a malformed length).
    text.sendRaw(Buffer.from(`text-1\ntext-2\r\n${'x'.repeat(65)}\n`));
    const framed = (m: string) => {
      const b = Buffer.alloc(4 + m.length);
      b.writeUInt32BE(4 + m.length);
      b.write(m, 4);
      return b;
    };
    frame.sendRaw(Buffer.concat([framed('frame-1'), framed('frame-2'), Buffer.from([0, 0, 0, 3, 0x61])]));
    await Promise.all([text.closed, frame.closed]);
    await eventually(
      () => [...seen].sort(),
      (got) => got.length === 4,
      'the four good messages at the worker',
    );
    expect([...seen].sort()).toEqual(['frame-1', 'frame-2', 'text-1', 'text-2']);
    expect(seen.indexOf('text-1')).toBeLessThan(seen.indexOf('text-2'));
    expect(seen.indexOf('frame-1')).toBeLessThan(seen.indexOf('frame-2'));
  });

  it('serves a custom framing registered in GatewayOptions.framings under its scheme', async () => {
    const register = await startRegister();
    const options = {
      listeners: [{ url: 'ws://127.0.0.1:0' }, { url: 'len16://127.0.0.1:0' }],
      lanIp: '127.0.0.1',
      startPort: 0,
      registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
      secret: Buffer.from(TEST_SECRET),
      maxMessageSize: 1024,
    };
    // Not registered: a clear error when the options are checked, before anything is bound.
    expect(() => resolveGatewayOptions(options)).toThrow(
      /^GatewayOptions\.listeners\[1\]\.url="len16:\/\/127\.0\.0\.1:0" is invalid: unknown scheme "len16"/,
    );

    server = new GatewayServer(resolveGatewayOptions({ ...options, framings: [new Length16Framing()] }));
    const { clientUrls, innerAddress } = await server.start();
    expect(clientUrls[1]).toMatch(/^len16:\/\/127\.0\.0\.1:[1-9]\d*$/);
    await startWorker(register.address, {}, innerAddress); // echoes: binary stays binary

    const port = Number(clientUrls[1].split(':')[2]);
    const received: Buffer[] = [];
    const socket: Socket = connect(port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    const ended = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    try {
      // Two messages in one write, then one split across two writes.
      socket.write(Buffer.from([0, 2, 0xff, 0x00, 0, 1, 0x41]));
      socket.write(Buffer.from([0, 3, 1]));
      await sleep(50);
      socket.write(Buffer.from([2, 3]));
      const expected = Buffer.from([0, 2, 0xff, 0x00, 0, 1, 0x41, 0, 3, 1, 2, 3]);
      await eventually(
        () => Buffer.concat(received).toString('hex'),
        (hex) => hex.length >= expected.length * 2,
        'the three echoes',
        20_000,
      );
      expect(Buffer.concat(received).toString('hex')).toBe(expected.toString('hex'));

      // Its FramingError closes the connection and counts like the built-in framings' errors.
      socket.write(Buffer.from([0x04, 0x01]));
      await ended;
      expect(server.counters.oversizeDisconnects).toBe(1);
    } finally {
      socket.destroy();
    }
  });
});

describe('listener configuration errors stop the gateway with status 1 and name the variable', () => {
  let pki: ListenerPki;
  const outcomes = new Map<string, { code: number | null | 'still running'; proc: RoleProcess }>();

  interface BadCase {
    name: string;
    env: () => Record<string, string>;
    expected: RegExp;
  }

  const wss = 'ws://127.0.0.1:0,wss://127.0.0.1:0';
  const CASES: BadCase[] = [
    {
      name: 'GATEWAY_LISTEN without a port',
      env: () => ({ GATEWAY_LISTEN: 'ws://127.0.0.1' }),
      expected: /GATEWAY_LISTEN="ws:\/\/127\.0\.0\.1" is invalid: expected scheme:\/\/host:port/,
    },
    {
      name: 'GATEWAY_LISTEN with an unknown scheme',
      env: () => ({ GATEWAY_LISTEN: 'ws://127.0.0.1:0,http://127.0.0.1:0' }),
      expected: /GATEWAY_LISTEN="http:\/\/127\.0\.0\.1:0" is invalid: unknown scheme "http"/,
    },
    {
      name: 'GATEWAY_LISTEN: a path on a raw TCP listener',
      env: () => ({ GATEWAY_LISTEN: 'text://127.0.0.1:0/chat' }),
      expected: /GATEWAY_LISTEN=.* is invalid: a text:\/\/ listener is raw TCP and takes no path/,
    },
    {
      name: 'GATEWAY_LISTEN: one address twice',
      env: () => ({ GATEWAY_LISTEN: 'ws://127.0.0.1:7999,frame://127.0.0.1:7999' }),
      expected: /GATEWAY_LISTEN=.* is invalid: 127\.0\.0\.1:7999 is already used/,
    },
    {
      name: 'GATEWAY_LISTEN: a port above 65535',
      env: () => ({ GATEWAY_LISTEN: 'text://127.0.0.1:70000' }),
      expected: /GATEWAY_LISTEN=.* is invalid: port 70000 is above 65535/,
    },
    {
      name: 'GATEWAY_LISTEN: no URL at all',
      env: () => ({ GATEWAY_LISTEN: ' , ' }),
      expected: /GATEWAY_LISTEN is empty/,
    },
    {
      name: 'wss without GATEWAY_TLS_CERT',
      env: () => ({ GATEWAY_LISTEN: wss, GATEWAY_TLS_KEY: pki.key }),
      expected: /GATEWAY_TLS_CERT is not set: a wss:\/\/ listener/,
    },
    {
      name: 'wss without GATEWAY_TLS_KEY',
      env: () => ({ GATEWAY_LISTEN: wss, GATEWAY_TLS_CERT: pki.cert }),
      expected: /GATEWAY_TLS_KEY is not set: a wss:\/\/ listener/,
    },
    {
      name: 'GATEWAY_TLS_CERT: a missing file',
      env: () => ({ GATEWAY_LISTEN: wss, GATEWAY_TLS_CERT: join(pki.dir, 'missing.pem'), GATEWAY_TLS_KEY: pki.key }),
      expected: /GATEWAY_TLS_CERT=".*missing\.pem" cannot be read \(ENOENT\)/,
    },
    {
      name: 'GATEWAY_TLS_CERT: a key instead of a certificate',
      env: () => ({ GATEWAY_LISTEN: wss, GATEWAY_TLS_CERT: pki.key, GATEWAY_TLS_KEY: pki.key }),
      expected: /GATEWAY_TLS_CERT=".*key\.pem" is invalid: the file holds no readable PEM certificate/,
    },
    {
      name: 'GATEWAY_TLS_CERT: a broken PEM block',
      env: () => ({ GATEWAY_LISTEN: wss, GATEWAY_TLS_CERT: pki.garbage, GATEWAY_TLS_KEY: pki.key }),
      expected: /GATEWAY_TLS_CERT=".*garbage\.pem" is invalid/,
    },
    {
      name: 'GATEWAY_TLS_KEY: a certificate instead of a key',
      env: () => ({ GATEWAY_LISTEN: wss, GATEWAY_TLS_CERT: pki.cert, GATEWAY_TLS_KEY: pki.cert }),
      expected: /GATEWAY_TLS_KEY=".*cert\.pem" is invalid: the file holds no readable unencrypted PEM private key/,
    },
    {
      name: "GATEWAY_TLS_KEY: not the certificate's key",
      env: () => ({ GATEWAY_LISTEN: wss, GATEWAY_TLS_CERT: pki.cert, GATEWAY_TLS_KEY: pki.otherKey }),
      expected:
        /GATEWAY_TLS_KEY=".*other-key\.pem" is invalid: it is not the private key of the certificate in GATEWAY_TLS_CERT/,
    },
  ];

  beforeAll(async () => {
    pki = makeTestPki();
    // All at once: each process exits on its own within about a second.
    const results = await Promise.all(
      CASES.map(async (c) => {
        const proc = startRole('gateway', {
          SECRET_KEY: TEST_SECRET,
          REGISTER_ADDRESS: '127.0.0.1:9',
          GATEWAY_START_PORT: '0',
          ...c.env(),
        });
        return { code: await exitWithin(proc, 20_000), proc };
      }),
    );
    CASES.forEach((c, i) => outcomes.set(c.name, results[i]));
  });

  afterAll(async () => {
    await stopAll();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { code, proc } = outcomes.get(c.name)!;
    const context = `${c.name}; output:\n${proc.output}`;
    expect({ context, code }).toEqual({ context, code: 1 });
    const errors = proc.lines.filter((l) => /Configuration error: /.test(l));
    expect({ context, errors: errors.length, matching: errors.some((l) => c.expected.test(l)) }).toEqual({
      context,
      errors: 1,
      matching: true,
    });
    expect(proc.lines.filter((l) => /failed to start/.test(l))).toEqual([]);
    // The key files' contents never reach the output, whatever went wrong.
    for (const keyFile of [pki.key, pki.otherKey]) {
      const body = readFileSync(keyFile, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('-----'));
      for (const line of body) expect(proc.output).not.toContain(line);
    }
  });

  it('ignores GATEWAY_TLS_* when no listener is wss://', async () => {
    const gateway = await startGateway('127.0.0.1:9', {
      GATEWAY_LISTEN: 'text://127.0.0.1:0',
      GATEWAY_TLS_CERT: join(pki.dir, 'missing.pem'),
      GATEWAY_TLS_KEY: join(pki.dir, 'missing-key.pem'),
    });
    expect(gateway.urls).toEqual([expect.stringMatching(/^text:\/\/127\.0\.0\.1:[1-9]\d*$/)]);
  });
});
