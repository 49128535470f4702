import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { LoggedProcess, startWorker, TEST_SECRET } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * The package's command, `gateway-worker register|gateway`, run from its build as npm links it
 * (packages/nest-gateway-worker/dist/bin/gateway-worker.js): the two roles work with the example worker, stop
 * cleanly on SIGTERM, and a bad variable or an unknown command stops it with the documented status. (The
 * consumer-app tests run the same command through `npx` in apps that installed the packed package.)
 */

const BIN = resolve(__dirname, '..', 'packages', 'nest-gateway-worker', 'dist', 'bin', 'gateway-worker.js');
const started: LoggedProcess[] = [];

function bin(args: string[], env: Record<string, string>): LoggedProcess {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = new LoggedProcess(`gateway-worker ${args.join(' ')}`, child);
  started.push(p);
  return p;
}

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
});

describe('gateway-worker (the package bin)', () => {
  it('runs a register and a gateway that the example worker and a WebSocket client use; SIGTERM exits 0', async () => {
    const register = bin(['register'], { SECRET_KEY: TEST_SECRET, REGISTER_LISTEN: '127.0.0.1:0' });
    const [, registerAddress] = await register.waitFor(/Register listening on (\S+)/);
    const gateway = bin(['gateway'], {
      SECRET_KEY: TEST_SECRET,
      REGISTER_ADDRESS: registerAddress,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
    });
    const [, url, inner] = await gateway.waitFor(/Gateway ready: clients (\S+), inner (\S+)/);
    const worker = await startWorker(registerAddress, {}, inner);

    const client = await TestClient.open(url);
    client.ws.send('{"type":"process"}');
    const reply = JSON.parse(await client.text(0)) as { type: string; pid: number };
    expect(reply).toMatchObject({ type: 'process', pid: worker.child.pid });
    client.ws.close();

    await worker.stop();
    for (const p of [gateway, register]) {
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    }
  });

  it('a bad variable: one line naming it and exit status 1', async () => {
    const gateway = bin(['gateway'], { SECRET_KEY: TEST_SECRET, GATEWAY_LAN_IP: 'localhost' });
    expect(await gateway.exited).toBe(1);
    expect(gateway.output).toMatch(/Configuration error: GATEWAY_LAN_IP="localhost" is invalid/);
    expect(gateway.output).not.toContain(TEST_SECRET);
  });

  it('an unknown command: a usage error on stderr and exit status 2, nothing started', async () => {
    const p = bin(['worker'], { SECRET_KEY: TEST_SECRET });
    expect(await p.exited).toBe(2);
    expect(p.output).toContain('gateway-worker: unknown command "worker"');
    expect(p.output).not.toMatch(/Nest|listening/);
  });

  it('--help lists the variables with their defaults and exits 0', async () => {
    const p = bin(['--help'], {});
    expect(await p.exited).toBe(0);
    expect(p.output).toMatch(/^ {2}GATEWAY_COUNT +default: 1$/m);
    expect(p.output).toMatch(/^ {2}REGISTER_LISTEN +default: 127\.0\.0\.1:1236$/m);
  });
});
