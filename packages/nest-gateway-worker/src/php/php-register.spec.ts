import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { RegisterClient } from '../register/register-client';
import { resolveRegisterOptions } from '../register/register-options';
import { RegisterServer } from '../register/register-server';
import { vectorBytes } from './testdata/php-vectors';

/**
 * The register with the php wire profile against PHP's own hello lines (vectors R1-R4, captured from PHP): PHP's
 * strict secret_key check (missing = ''), and our RegisterClient's hellos in PHP's form. Real sockets on 127.0.0.1.
 */

interface LineClient {
  socket: Socket;
  /** The first line received, or null when the register closed the connection without one. */
  firstLine: Promise<string | null>;
}

function lineClient(port: number, line: Buffer): LineClient {
  const socket = connect(port, '127.0.0.1');
  socket.write(line);
  const firstLine = new Promise<string | null>((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const at = text.indexOf('\n');
      if (at >= 0) resolve(text.slice(0, at));
    });
    socket.on('close', () => resolve(null));
    socket.on('error', () => resolve(null));
  });
  return { socket, firstLine };
}

/** Waits (bounded) until `done` holds. */
async function until(done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function startRegister(phpSecretKey: string): Promise<{ server: RegisterServer; port: number }> {
  const server = new RegisterServer(
    resolveRegisterOptions({ listen: '127.0.0.1:0', plaintext: true, wireProfile: 'php', phpSecretKey }),
  );
  const address = await server.listen();
  return { server, port: address.port };
}

describe('register, php wire profile: PHP secret_key check', () => {
  const clients: Socket[] = [];
  afterEach(() => {
    for (const s of clients.splice(0)) s.destroy();
  });
  const hello = (port: number, line: Buffer): Promise<string | null> => {
    const c = lineClient(port, line);
    clients.push(c.socket);
    return c.firstLine;
  };

  it('with PHP_SECRET_KEY=s3cr3t: R2 (the same key) gets the gateway list, R1 (empty) and a missing key are closed', async () => {
    const { server, port } = await startRegister('s3cr3t');
    try {
      // R4: a PHP gateway registering with the key; then R2 (a worker with the key) gets the list with it.
      const gateway = lineClient(port, vectorBytes('R4'));
      clients.push(gateway.socket);
      await until(() => server.addresses.length === 1);
      expect(await hello(port, vectorBytes('R2'))).toBe(
        '{"event":"broadcast_addresses","addresses":["127.0.0.2:2300"]}',
      );
      expect(await hello(port, vectorBytes('R1'))).toBeNull();
      expect(await hello(port, Buffer.from('{"event":"worker_connect"}\n'))).toBeNull();
      expect(await hello(port, Buffer.from('{"event":"worker_connect","secret_key":1}\n'))).toBeNull();
      // R3 (a gateway with the empty key) is refused, so the list still holds R4's address only.
      const refused = lineClient(port, vectorBytes('R3'));
      clients.push(refused.socket);
      expect(await refused.firstLine).toBeNull();
      expect(server.addresses).toEqual(['127.0.0.2:2300']);
    } finally {
      await server.close();
    }
  });

  it('with no PHP_SECRET_KEY: R1 and a hello without secret_key are served, a non-empty key is refused (as PHP does)', async () => {
    const { server, port } = await startRegister('');
    try {
      expect(await hello(port, vectorBytes('R1'))).toBe('{"event":"broadcast_addresses","addresses":[]}');
      expect(await hello(port, Buffer.from('{"event":"worker_connect"}\n'))).toBe(
        '{"event":"broadcast_addresses","addresses":[]}',
      );
      expect(await hello(port, vectorBytes('R2'))).toBeNull();
    } finally {
      await server.close();
    }
  });

  it("our RegisterClient's hellos carry secret_key, byte-identical to PHP's worker_connect (R2)", async () => {
    const lines: string[] = [];
    const gotTwo = new Promise<void>((resolve) => {
      const fake = createServer((socket) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          while (text.includes('\n')) {
            const at = text.indexOf('\n');
            lines.push(text.slice(0, at + 1));
            text = text.slice(at + 1);
            if (lines.length === 2) resolve();
          }
        });
      });
      servers.push(fake);
      fake.listen(0, '127.0.0.1', () => {
        const port = (fake.address() as AddressInfo).port;
        for (const options of [{ subscribe: true }, { announce: '127.0.0.2:2300' }]) {
          const client = new RegisterClient({
            registers: [{ host: '127.0.0.1', port }],
            secret: null,
            phpSecretKey: 's3cr3t',
            ...options,
          });
          registerClients.push(client);
          client.start();
        }
      });
    });
    await gotTwo;
    expect(lines).toContain(vectorBytes('R2').toString('latin1'));
    expect(lines).toContain('{"event":"gateway_connect","address":"127.0.0.2:2300","secret_key":"s3cr3t"}\n');
  });

  const servers: ReturnType<typeof createServer>[] = [];
  const registerClients: RegisterClient[] = [];
  afterAll(async () => {
    for (const c of registerClients) c.stop();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
});

describe('WIRE_PROFILE / PHP_SECRET_KEY checks', () => {
  it('php needs plaintext; PHP_SECRET_KEY needs php and PHP-safe characters; the key is never shown', () => {
    const { registerOptionsFromEnv } =
      jest.requireActual<typeof import('../register/register-options')>('../register/register-options');
    expect(() => registerOptionsFromEnv({ WIRE_PROFILE: 'php', SECRET_KEY: 'a-secret-of-16-chars' })).toThrow(
      /^WIRE_PROFILE=php needs INNER_PLAINTEXT=true/,
    );
    expect(() => registerOptionsFromEnv({ INNER_PLAINTEXT: 'true', PHP_SECRET_KEY: 'abc' })).toThrow(
      /^PHP_SECRET_KEY is set but WIRE_PROFILE is not php/,
    );
    expect(() =>
      registerOptionsFromEnv({ INNER_PLAINTEXT: 'true', WIRE_PROFILE: 'php', PHP_SECRET_KEY: 'a"b' }),
    ).toThrow(/^PHP_SECRET_KEY is invalid/);
    expect(() => registerOptionsFromEnv({ INNER_PLAINTEXT: 'true', WIRE_PROFILE: 'pHp' })).toThrow(
      /^WIRE_PROFILE="pHp"/,
    );
    try {
      registerOptionsFromEnv({ INNER_PLAINTEXT: 'true', WIRE_PROFILE: 'php', PHP_SECRET_KEY: 'hidden\\value' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hidden');
    }
    const ok = registerOptionsFromEnv({ INNER_PLAINTEXT: 'true', WIRE_PROFILE: 'php', PHP_SECRET_KEY: ' s3 cr3t ' });
    expect(ok).toMatchObject({ wireProfile: 'php', phpSecretKey: ' s3 cr3t ', secret: null });
    expect(registerOptionsFromEnv({ SECRET_KEY: 'a-secret-of-16-chars' })).toMatchObject({
      wireProfile: 'native',
      phpSecretKey: '',
    });
  });
});
