import {
  ConfigError,
  GATEWAY_WORKER_OPTIONS,
  GatewayClient,
  GatewayModule,
  GatewayTransport,
  InMemorySessionStore,
  MessageBody,
  OnClientMessage,
  type GatewayClientOptions,
  type GatewayOptions,
  type ResolvedWorkerOptions,
  type RoleOptionsFactory,
} from 'nest-gateway-worker';
import {
  Controller,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type INestApplicationContext,
  type INestMicroservice,
  type LoggerService,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { eventually, exitWithin } from './support/eventually';
import { LoggedProcess, startRegister, stopAll, TEST_SECRET } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * Options from DI (forGatewayAsync, forWorkerAsync, forClientAsync) and options checked in code: a gateway, a worker
 * and a forClient context in this process get their options from a small ConfigModule-like module over real sockets
 * to a register process; role processes started with a bad option in code stop with one line and exit status 1.
 */

const ROOT = resolve(__dirname, '..');
const CLUSTER_SETTINGS = Symbol('CLUSTER_SETTINGS');

/** What @nestjs/config's ConfigService would hold. */
interface ClusterSettings {
  registerAddress: string;
  secret: string;
}

/** A ConfigService look-alike: the cluster's settings, and the forClient options made from them (for useExisting). */
@Injectable()
class ClusterConfig implements RoleOptionsFactory<GatewayClientOptions> {
  constructor(@Inject(CLUSTER_SETTINGS) private readonly settings: ClusterSettings) {}

  get(key: keyof ClusterSettings): string {
    return this.settings[key];
  }

  create(): GatewayClientOptions {
    return { registers: this.get('registerAddress'), secret: this.get('secret'), rejectOnGatewayFailure: true };
  }
}

/** A ConfigModule look-alike: the settings as a provider of an imported module. */
@Module({})
class ClusterConfigModule {
  static with(settings: ClusterSettings): DynamicModule {
    return {
      module: ClusterConfigModule,
      providers: [{ provide: CLUSTER_SETTINGS, useValue: settings }, ClusterConfig],
      exports: [ClusterConfig],
    };
  }
}

/** The gateway's options from a class (useClass) whose dependency comes from the imported module. */
@Injectable()
class GatewayConfig implements RoleOptionsFactory<GatewayOptions> {
  constructor(@Inject(ClusterConfig) private readonly config: ClusterConfig) {}

  async create(): Promise<GatewayOptions> {
    return {
      registers: this.config.get('registerAddress'),
      secret: this.config.get('secret'),
      listeners: [{ url: 'ws://127.0.0.1:0' }],
      startPort: 0,
    };
  }
}

@Controller()
class ShoutController {
  @OnClientMessage()
  shout(@MessageBody() message: string | Buffer): string {
    return message.toString().toUpperCase();
  }
}

/** Keeps every log line (the gateway's documented ready line is where its ephemeral client URL appears). */
class LineLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  error(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
}

describe('GatewayModule.for*Async: options from an imported config module', () => {
  const contexts: Array<INestApplicationContext | INestMicroservice> = [];
  const clients: TestClient[] = [];

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const ctx of contexts.reverse()) await ctx.close();
    await stopAll();
  });

  it('a gateway (useClass), a worker (useFactory + sessionStore from DI) and a client (useExisting) work together', async () => {
    const register = await startRegister();
    const config = ClusterConfigModule.with({ registerAddress: register.address, secret: TEST_SECRET });

    const gatewayLog = new LineLogger();
    const gateway = await NestFactory.createApplicationContext(
      GatewayModule.forGatewayAsync({ imports: [config], useClass: GatewayConfig }),
      { logger: gatewayLog, abortOnError: false },
    );
    contexts.push(gateway);
    const ready = gatewayLog.lines
      .map((l) => /^Gateway ready: clients (\S+), inner (\S+)/.exec(l))
      .find((m) => m !== null);
    expect(ready).toBeDefined();
    const [, clientUrl, inner] = ready!;

    const store = new InMemorySessionStore();
    class WorkerAppModule {}
    const worker = await NestFactory.createMicroservice(
      {
        module: WorkerAppModule,
        imports: [
          GatewayModule.forWorkerAsync({
            imports: [config],
            inject: [ClusterConfig],
            useFactory: (c: ClusterConfig) => ({
              registers: c.get('registerAddress'),
              secret: c.get('secret'),
              name: 'async-worker',
            }),
            sessionStore: { useFactory: () => store },
          }),
        ],
        controllers: [ShoutController],
      },
      {
        inject: [GatewayTransport],
        useFactory: (t: GatewayTransport) => ({ strategy: t }),
        logger: ['error', 'warn'],
        abortOnError: false,
      },
    );
    contexts.push(worker);
    await worker.listen();
    const transport = worker.get(GatewayTransport);
    const resolved = worker.get<ResolvedWorkerOptions>(GATEWAY_WORKER_OPTIONS);
    expect(resolved).toMatchObject({
      name: 'async-worker',
      timeoutMs: 3_000,
      drainTimeoutMs: 30_000,
      plaintext: false,
    });
    expect(transport.options.sessionStore).toBe(store);

    const client = await TestClient.open(clientUrl);
    clients.push(client);
    // The worker links to the gateway once the register lists it: until then the gateway holds the event.
    client.send('hello');
    expect(await client.text(0, 15_000)).toBe('HELLO');

    const sdk = await NestFactory.createApplicationContext(
      GatewayModule.forClientAsync({ imports: [config], useExisting: ClusterConfig }),
      { logger: ['error', 'warn'], abortOnError: false },
    );
    contexts.push(sdk);
    const gw = sdk.get(GatewayClient);
    await eventually(
      () => gw.getAllClientCount(),
      (n) => n === 1,
      `the forClientAsync client to see the one client via ${inner}`,
    );
    await gw.sendToAll('from the sdk');
    expect(await client.text(1)).toBe('from the sdk');
  });

  it('refuses what a factory returns with a ConfigError naming the option, before anything listens', async () => {
    const create = NestFactory.createApplicationContext(
      GatewayModule.forGatewayAsync({
        imports: [ClusterConfigModule.with({ registerAddress: '127.0.0.1:9', secret: TEST_SECRET })],
        inject: [ClusterConfig],
        useFactory: (c: ClusterConfig) => ({
          registers: c.get('registerAddress'),
          secret: c.get('secret'),
          maxConnections: -1,
        }),
      }),
      { logger: false, abortOnError: false },
    );
    await expect(create).rejects.toThrow(ConfigError);
    await expect(
      NestFactory.createApplicationContext(
        GatewayModule.forClientAsync({ useFactory: () => ({ secretKey: TEST_SECRET }) as GatewayClientOptions }),
        { logger: false, abortOnError: false },
      ),
    ).rejects.toThrow(/^GatewayClientOptions\.secretKey is not an option: it is called secret now$/);
    expect(() => GatewayModule.forWorker({ secret: 'too-short' })).toThrow(
      /^WorkerOptions\.secret is too short \(9 characters\)/,
    );
  });
});

describe('a bad option in code stops a role process: one line naming it, exit status 1', () => {
  const started: LoggedProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
  });

  function runScript(name: string, script: string, env: Record<string, string>): LoggedProcess {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', SECRET_KEY: TEST_SECRET, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new LoggedProcess(name, child);
    started.push(p);
    return p;
  }

  async function expectConfigExit(proc: LoggedProcess, line: RegExp): Promise<void> {
    const code = await exitWithin(proc, 20_000);
    const context = `output:\n${proc.output}`;
    expect({ context, code }).toEqual({ context, code: 1 });
    expect({ context, lines: proc.lines.filter((l) => line.test(l)).length }).toEqual({ context, lines: 1 });
    // One clear line: no stack trace, no "failed to start", no secret.
    expect({ context, stack: proc.lines.filter((l) => /^\s+at /.test(l) || /failed to start/.test(l)) }).toEqual({
      context,
      stack: [],
    });
    expect(proc.output).not.toContain(TEST_SECRET);
  }

  it('runGateway({ options }) with maxConnections: -1', async () => {
    const proc = runScript(
      'gateway',
      "require('reflect-metadata'); require('nest-gateway-worker').runGateway({ options: { maxConnections: -1 } });",
      { REGISTER_ADDRESS: '127.0.0.1:9', GATEWAY_LISTEN: 'ws://127.0.0.1:0', GATEWAY_START_PORT: '0' },
    );
    await expectConfigExit(
      proc,
      /Configuration error: GatewayOptions\.maxConnections=-1 is invalid: expected an integer from 0 to 100000000$/,
    );
  });

  it('runRegister({ options }) with a port above 65535', async () => {
    const proc = runScript(
      'register',
      "require('reflect-metadata'); require('nest-gateway-worker').runRegister({ options: { listen: '127.0.0.1:99999' } });",
      {},
    );
    await expectConfigExit(
      proc,
      /Configuration error: RegisterOptions\.listen="127\.0\.0\.1:99999" is invalid: port 99999 is above 65535$/,
    );
  });

  it('runRole with GatewayModule.forWorkerAsync whose factory gives timeoutMs: 0 (the error comes from Nest module creation)', async () => {
    const script = `
      require('reflect-metadata');
      const { GatewayModule, runRole } = require('nest-gateway-worker');
      const { NestFactory } = require('@nestjs/core');
      runRole({
        role: 'Worker',
        configure: () => ({}),
        shutdownTimeoutMs: () => 0,
        start: () => NestFactory.createApplicationContext(
          GatewayModule.forWorkerAsync({ useFactory: async () => ({ secret: process.env.SECRET_KEY, timeoutMs: 0 }) }),
          { logger: ['error', 'warn'], abortOnError: false },
        ),
      });`;
    const proc = runScript('worker', script, {});
    await expectConfigExit(
      proc,
      /\[Worker\] Configuration error: WorkerOptions\.timeoutMs=0 is invalid: expected an integer from 1 to 600000$/,
    );
  });
});
