import {
  ClientId,
  ConnectionRejectedException,
  GatewayClient,
  GatewayContext,
  GatewayExceptionFilter,
  GatewayModule,
  GatewayTransport,
  Handshake,
  MessageBody,
  OnClientConnect,
  OnClientMessage,
  Session,
  type WorkerOptions,
} from 'nest-gateway-worker';
import { parseHostPort } from 'nest-gateway-worker/internal';
import {
  BadRequestException,
  Catch,
  Controller,
  createParamDecorator,
  Inject,
  Injectable,
  Scope,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestMicroservice,
  type LoggerService,
  type NestInterceptor,
  type PipeTransform,
  type Provider,
  type Type,
} from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { Ctx, Payload, RpcException } from '@nestjs/microservices';
import { IsString, MaxLength } from 'class-validator';
import { map, of, throwError, type Observable } from 'rxjs';
import { GatewayProbe } from './support/gateway-probe';
import { startGateway, startRegister, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * The worker's handler fast path (HandlerFastPath): handlers that need nothing of Nest's RPC wrapper are called
 * directly, everything else still goes through Nest. Register and gateway are real processes; each test starts its
 * own worker app in this process (its own controllers and global setup), linked over real sockets.
 */

/** Log lines of the worker app (the errors filters log), as `context: message`. */
class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown, ...rest: unknown[]): void {
    const context = rest.length > 0 ? rest[rest.length - 1] : '';
    const text = message instanceof Error ? message.message : String(message);
    this.errors.push(`${String(context)}: ${text}`);
  }
}

/** Set by handlers: whether Nest's RPC wrapper is on their call stack. */
const stacks: string[] = [];
const throughNest = (): boolean => (stacks.at(-1) ?? '').includes('rpc-context-creator');

@Controller()
class PlainController {
  @OnClientMessage('echo')
  echo(@MessageBody() body: { text: string }) {
    stacks.push(new Error().stack ?? '');
    return { type: 'echo', text: body.text };
  }

  @OnClientMessage('who')
  who(
    @ClientId() id: string,
    @Session() session: Record<string, unknown>,
    @Handshake('query') query: Record<string, string>,
    @Ctx() ctx: GatewayContext,
    @Payload('n') n: number,
  ) {
    session.n = n;
    return { type: 'who', idOk: id === ctx.clientId, token: query.token, n, ctx: ctx instanceof GatewayContext };
  }

  @OnClientMessage('async')
  async later(@MessageBody() body: { text: string }) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return `later ${body.text}`;
  }

  @OnClientMessage('stream')
  stream() {
    return of('one', 'two');
  }

  @OnClientMessage('stream-fail')
  streamFail(): Observable<string> {
    return new Promise<Observable<string>>((resolve) =>
      resolve(throwError(() => new RpcException('stream broke'))),
    ) as unknown as Observable<string>;
  }

  @OnClientMessage('boom')
  boom(): string {
    throw new Error('secret detail');
  }

  @OnClientMessage('async-boom')
  async asyncBoom(): Promise<string> {
    await Promise.resolve();
    throw new Error('async secret detail');
  }

  @OnClientMessage('rpc')
  rpc(): string {
    throw new RpcException('told the client');
  }

  @OnClientMessage('http')
  http(): string {
    throw new BadRequestException('bad field');
  }

  @OnClientMessage('nothing')
  nothing(): void {}

  @OnClientMessage()
  untyped(@MessageBody() message: string | Buffer) {
    return `text:${String(message)}`;
  }
}

@Controller()
class RejectingController {
  @OnClientConnect()
  connect(@Handshake('query') query: Record<string, string>) {
    if (query.token !== 'ok') throw new ConnectionRejectedException('no token', 4401);
    return { type: 'welcome' };
  }

  @OnClientMessage('echo')
  echo(@MessageBody() body: { text: string }) {
    stacks.push(new Error().stack ?? '');
    return body.text;
  }
}

/** The messages both paths get, and what each is. */
const SCRIPT: string[] = [
  JSON.stringify({ type: 'echo', text: 'hi' }),
  JSON.stringify({ type: 'who', n: 7 }),
  JSON.stringify({ type: 'async', text: 'a' }),
  JSON.stringify({ type: 'stream' }),
  JSON.stringify({ type: 'stream-fail' }),
  JSON.stringify({ type: 'boom' }),
  JSON.stringify({ type: 'async-boom' }),
  JSON.stringify({ type: 'rpc' }),
  JSON.stringify({ type: 'http' }),
  JSON.stringify({ type: 'echo', text: 'as request', $rid: 1 }),
  JSON.stringify({ type: 'boom', $rid: 2 }),
  JSON.stringify({ type: 'http', $rid: 'h' }),
  JSON.stringify({ type: 'nothing', $rid: 3 }),
  'plain',
];
/** Replies to SCRIPT: one each, two for 'stream'. */
const SCRIPT_REPLIES = SCRIPT.length + 1;

describe('worker handler fast path (register and gateway processes, in-process workers)', () => {
  let register: { proc: RoleProcess; address: string };
  let gateway: { proc: RoleProcess; url: string; inner: string };
  let app: INestMicroservice | null = null;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    register = await startRegister();
    gateway = await startGateway(register.address);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await app?.close();
    app = null;
    stacks.length = 0;
  });

  afterAll(async () => {
    await stopAll();
  });

  /** A worker app with `controllers` (and `providers`), `setup` run on it before it listens. */
  async function startWorker(
    controllers: Type<unknown>[],
    {
      providers = [],
      setup = () => {},
      options = {},
    }: {
      providers?: Provider[];
      setup?: (a: INestMicroservice) => void;
      options?: Partial<WorkerOptions>;
    } = {},
  ): Promise<{ transport: GatewayTransport; logger: CapturingLogger; paths: Map<string, string> }> {
    class FastPathTestModule {}
    const logger = new CapturingLogger();
    const workerOptions: WorkerOptions = {
      registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
      secret: Buffer.from(TEST_SECRET),
      name: 'fast-path',
      ...options,
    };
    app = await NestFactory.createMicroservice(
      { module: FastPathTestModule, imports: [GatewayModule.forWorker(workerOptions)], controllers, providers },
      {
        inject: [GatewayTransport],
        useFactory: (transport: GatewayTransport) => ({ strategy: transport }),
        logger,
      },
    );
    setup(app);
    await app.listen();
    await GatewayProbe.of(app.get(GatewayClient)).linked([gateway.inner]);
    const transport = app.get(GatewayTransport);
    return { transport, logger, paths: transport.runner.routes!.paths };
  }

  async function open(path = '/?token=abc'): Promise<TestClient> {
    const c = await TestClient.open(gateway.url + path);
    clients.push(c);
    return c;
  }

  /** One client runs SCRIPT; its replies as text, and the error lines the app logged. */
  async function runScript(logger: CapturingLogger): Promise<{ replies: string[]; errors: string[] }> {
    const c = await open();
    for (const m of SCRIPT) c.send(m);
    const replies = (await c.waitForMessages(SCRIPT_REPLIES)).map((r) => r.data.toString());
    // Let the last handler's log lines land before reading them.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { replies, errors: [...logger.errors] };
  }

  it('calls handlers that need nothing of Nest directly: every route on the direct path, no RPC wrapper on the stack', async () => {
    const { paths } = await startWorker([PlainController]);
    expect([...paths.values()].every((p) => p === 'direct')).toBe(true);
    expect(paths.size).toBe(11);
    const c = await open();
    c.send(JSON.stringify({ type: 'echo', text: 'x' }));
    expect(JSON.parse(await c.text(0))).toEqual({ type: 'echo', text: 'x' });
    expect(stacks).toHaveLength(1);
    expect(throughNest()).toBe(false);
    c.send(JSON.stringify({ type: 'who', n: 3 }));
    expect(JSON.parse(await c.text(1))).toEqual({ type: 'who', idOk: true, token: 'abc', n: 3, ctx: true });
  });

  it('WORKER_FAST_PATH off (fastPath: false): the same handlers go through Nest', async () => {
    const { paths } = await startWorker([PlainController], { options: { fastPath: false } });
    expect([...paths.values()].every((p) => p === 'the fast path is off')).toBe(true);
    const c = await open();
    c.send(JSON.stringify({ type: 'echo', text: 'x' }));
    expect(JSON.parse(await c.text(0))).toEqual({ type: 'echo', text: 'x' });
    expect(throughNest()).toBe(true);
  });

  it.each([
    ['without exception filters (Nest default)', () => {}],
    [
      'with GatewayExceptionFilter (useGlobalFilters)',
      (a: INestMicroservice) => void a.useGlobalFilters(new GatewayExceptionFilter()),
    ],
  ])(
    '%s: replies, errors, Observables, async handlers, requests and log lines are the same on both paths',
    async (_, setup) => {
      const fast = await startWorker([PlainController], { setup });
      expect(fast.paths.get('{"gw":"message","type":"boom"}')).toBe('direct');
      const direct = await runScript(fast.logger);
      await app!.close();
      app = null;
      for (const c of clients.splice(0)) c.close();
      const slow = await startWorker([PlainController], { setup, options: { fastPath: false } });
      const nest = await runScript(slow.logger);
      expect(direct.replies).toEqual(nest.replies);
      expect(direct.errors).toEqual(nest.errors);
      // What the script shows (so equality is not two empty lists): the values, the filtered errors, the log.
      expect(direct.replies[0]).toBe('{"type":"echo","text":"hi"}');
      expect(direct.replies).toContain('one');
      expect(direct.replies).toContain('{"type":"error","message":"stream broke"}');
      expect(direct.replies).toContain('{"type":"error","message":"Internal server error"}');
      expect(direct.replies).toContain('{"$rid":3}');
      expect(direct.replies.join('\n')).not.toContain('secret detail');
      expect(direct.errors.some((e) => e.includes('async secret detail'))).toBe(true);
      expect(direct.errors.some((e) => e.includes('secret detail'))).toBe(true);
      const httpReply = direct.replies.find((r) => r.includes('"$rid":"h"'));
      expect(httpReply).toBe(
        setup.length === 0
          ? '{"$rid":"h","error":"Internal server error"}'
          : '{"$rid":"h","error":"bad field","statusCode":400}',
      );
    },
  );

  it('a connect handler that throws rejects the connection the same way on the direct path', async () => {
    const { paths } = await startWorker([RejectingController]);
    expect(paths.get('{"gw":"connect"}')).toBe('direct');
    const refused = await open('/?token=no');
    await refused.waitUntilReceived(() => (refused.closeCode !== null ? true : undefined), 'close');
    expect(refused.closeCode).toBe(4401);
    expect(refused.closeReason).toBe('no token');
    const ok = await open('/?token=ok');
    expect(JSON.parse(await ok.text(0))).toEqual({ type: 'welcome' });
    ok.send(JSON.stringify({ type: 'echo', text: 'after' }));
    expect(await ok.text(1)).toBe('after');
    expect(throughNest()).toBe(false);
  });

  it("a hybrid app's global filter, which its microservice does not inherit, is neither applied nor assumed", async () => {
    class HybridTestModule {}
    const hybrid = await NestFactory.create(
      {
        module: HybridTestModule,
        imports: [
          GatewayModule.forWorker({
            registers: [parseHostPort('REGISTER_ADDRESS', register.address)],
            secret: Buffer.from(TEST_SECRET),
            name: 'fast-path-hybrid',
          }),
        ],
        controllers: [PlainController],
      },
      { logger: false },
    );
    try {
      // On the HTTP app, before the microservice is connected (without inheritAppConfig): Nest does not give it to
      // the microservice's handlers, and the transport cannot tell which config they got.
      hybrid.useGlobalFilters(new GatewayExceptionFilter());
      hybrid.connectMicroservice({ strategy: hybrid.get(GatewayTransport) });
      await hybrid.startAllMicroservices();
      await hybrid.init();
      await GatewayProbe.of(hybrid.get(GatewayClient)).linked([gateway.inner]);
      const paths = hybrid.get(GatewayTransport).runner.routes!.paths;
      expect(new Set(paths.values())).toEqual(new Set(['global exception filters of a hybrid app']));
      const c = await open();
      c.send(JSON.stringify({ type: 'http' }));
      // Nest's default filter, not GatewayExceptionFilter's "bad field".
      expect(JSON.parse(await c.text(0))).toEqual({ type: 'error', message: 'Internal server error' });
    } finally {
      await hybrid.close();
    }
  });

  describe('what needs Nest still runs', () => {
    it('a method guard: a guard that refuses stops the handler', async () => {
      let ran = 0;
      class Refuse implements CanActivate {
        canActivate(): boolean {
          return false;
        }
      }
      @Controller()
      class Guarded {
        @UseGuards(Refuse)
        @OnClientMessage('guarded')
        guarded() {
          ran++;
          return 'should not be sent';
        }

        @OnClientMessage('open')
        open() {
          return 'open';
        }
      }
      const { paths } = await startWorker([Guarded]);
      expect(paths.get('{"gw":"message","type":"guarded"}')).toBe('Guarded.guarded: guards');
      expect(paths.get('{"gw":"message","type":"open"}')).toBe('direct');
      const c = await open();
      c.send(JSON.stringify({ type: 'guarded' }));
      c.send(JSON.stringify({ type: 'open' }));
      const replies = (await c.waitForMessages(2)).map((r) => r.data.toString());
      expect(JSON.parse(replies[0])).toEqual({ type: 'error', message: 'Forbidden resource' });
      expect(replies[1]).toBe('open');
      expect(ran).toBe(0);
    });

    it('a controller interceptor: its mapping shows in the reply', async () => {
      class Wrap implements NestInterceptor {
        intercept(_: ExecutionContext, next: CallHandler): Observable<unknown> {
          return next.handle().pipe(map((v) => ({ wrapped: v })));
        }
      }
      @UseInterceptors(Wrap)
      @Controller()
      class Intercepted {
        @OnClientMessage('x')
        x() {
          return 1;
        }
      }
      const { paths } = await startWorker([Intercepted]);
      expect(paths.get('{"gw":"message","type":"x"}')).toBe('Intercepted.x: interceptors');
      const c = await open();
      c.send(JSON.stringify({ type: 'x' }));
      expect(JSON.parse(await c.text(0))).toEqual({ wrapped: 1 });
    });

    it('a global pipe (useGlobalPipes): every handler goes through Nest and the pipe transforms the body', async () => {
      class Upper implements PipeTransform {
        transform(v: unknown): unknown {
          return typeof v === 'string' ? v.toUpperCase() : v;
        }
      }
      const { paths } = await startWorker([PlainController], {
        setup: (a) => void a.useGlobalPipes(new Upper()),
      });
      expect(new Set(paths.values())).toEqual(new Set(['global pipes']));
      const c = await open();
      c.send('quiet');
      expect(await c.text(0)).toBe('text:QUIET');
      c.send(JSON.stringify({ type: 'echo', text: 'x' }));
      await c.text(1);
      expect(throughNest()).toBe(true);
    });

    it('an APP_FILTER provider: its payload reaches the client', async () => {
      @Catch()
      class Teapot implements ExceptionFilter {
        catch(_: unknown, __: ArgumentsHost): Observable<never> {
          return throwError(() => ({ message: 'teapot' }));
        }
      }
      const { paths } = await startWorker([PlainController], {
        providers: [{ provide: APP_FILTER, useClass: Teapot }],
      });
      expect(paths.get('{"gw":"message","type":"boom"}')).toBe('PlainController.boom: exception filters');
      const c = await open();
      c.send(JSON.stringify({ type: 'boom' }));
      expect(JSON.parse(await c.text(0))).toEqual({ type: 'error', message: 'teapot' });
    });

    it('a ValidationPipe on a DTO parameter: a bad body is refused with the field named', async () => {
      class Dto {
        @IsString()
        @MaxLength(5)
        text!: string;
      }
      let ran = 0;
      @Controller()
      class Validated {
        @OnClientMessage('v')
        v(@MessageBody(new ValidationPipe()) body: Dto) {
          ran++;
          return body.text;
        }
      }
      const { paths } = await startWorker([Validated], {
        setup: (a) => void a.useGlobalFilters(new GatewayExceptionFilter()),
      });
      expect(paths.get('{"gw":"message","type":"v"}')).toBe('Validated.v: parameter pipes');
      const c = await open();
      c.send(JSON.stringify({ type: 'v', text: 'far too long' }));
      c.send(JSON.stringify({ type: 'v', text: 'ok' }));
      const replies = (await c.waitForMessages(2)).map((r) => r.data.toString());
      expect(JSON.parse(replies[0]).message).toMatch(/text must be shorter than or equal to 5 characters/);
      expect(replies[1]).toBe('ok');
      expect(ran).toBe(1);
    });

    it('a request-scoped provider: the controller is built per event', async () => {
      let built = 0;
      @Injectable({ scope: Scope.REQUEST })
      class PerEvent {
        readonly n = ++built;
      }
      @Controller()
      class Scoped {
        constructor(@Inject(PerEvent) private readonly per: PerEvent) {}

        @OnClientMessage('n')
        n() {
          return this.per.n;
        }
      }
      const { paths } = await startWorker([Scoped], { providers: [PerEvent] });
      expect(paths.get('{"gw":"message","type":"n"}')).toBe('Scoped.n: request-scoped or transient controller');
      const c = await open();
      c.send(JSON.stringify({ type: 'n' }));
      c.send(JSON.stringify({ type: 'n' }));
      const replies = (await c.waitForMessages(2)).map((r) => Number(r.data.toString()));
      expect(replies[1]).toBe(replies[0] + 1);
    });

    it('a custom parameter decorator (createParamDecorator): its factory runs', async () => {
      const Kind = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
        ctx.switchToRpc().getContext<GatewayContext>().kind.toUpperCase(),
      );
      @Controller()
      class Custom {
        @OnClientMessage('k')
        k(@Kind() kind: string, @MessageBody() body: { x: number }) {
          return `${kind}:${body.x}`;
        }
      }
      const { paths } = await startWorker([Custom]);
      expect(paths.get('{"gw":"message","type":"k"}')).toBe(
        'Custom.k: a parameter decorator the fast path does not resolve',
      );
      const c = await open();
      c.send(JSON.stringify({ type: 'k', x: 2 }));
      expect(await c.text(0)).toBe('MESSAGE:2');
    });
  });
});
