import {
  Module,
  type ClassProvider,
  type InjectionToken,
  type DynamicModule,
  type FactoryProvider,
  type ModuleMetadata,
  type Provider,
  type ValueProvider,
} from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { GatewayClient } from './client/gateway-client';
import {
  resolveGatewayClientOptions,
  type GatewayClientOptions,
  type ResolvedGatewayClientOptions,
} from './client/gateway-client-options';
import { GatewayClientPool } from './client/gateway-client-pool';
import { GatewayServer } from './gateway/gateway-server';
import { resolveGatewayOptions, type GatewayOptions } from './gateway/gateway-options';
import { asyncOptionsProviders, type RoleAsyncOptions } from './module/async-options';
import type { ResolvedAdminOptions } from './ops/admin/admin-options';
import { AdminServer } from './ops/admin/admin-server';
import type { AdminTarget } from './ops/admin/admin-target';
import {
  clientAdminTarget,
  gatewayAdminTarget,
  registerAdminTarget,
  workerAdminTarget,
} from './ops/admin/admin-targets';
import { RegisterServer } from './register/register-server';
import { resolveRegisterOptions, type RegisterOptions } from './register/register-options';
import { GatewayTransport } from './worker/gateway-transport';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './worker/worker-options';
import { GATEWAY_SESSION_STORE, type SessionStore } from './worker/session-store';

/** Injection tokens of each role's resolved options (every default filled in), e.g. `@Inject(GATEWAY_WORKER_OPTIONS)`. */
export const GATEWAY_REGISTER_OPTIONS = Symbol('GATEWAY_REGISTER_OPTIONS');
export const GATEWAY_SERVER_OPTIONS = Symbol('GATEWAY_SERVER_OPTIONS');
export const GATEWAY_WORKER_OPTIONS = Symbol('GATEWAY_WORKER_OPTIONS');
export const GATEWAY_CLIENT_OPTIONS = Symbol('GATEWAY_CLIENT_OPTIONS');

/**
 * The second argument of `GatewayModule.forWorker`: a SessionStore from DI, as a provider without `provide`
 * (`{ useClass: RedisSessionStore }`, `{ useFactory, inject }`, `{ useValue }`), registered under
 * GATEWAY_SESSION_STORE, plus the modules its dependencies come from.
 */
export interface WorkerModuleExtras extends Pick<ModuleMetadata, 'imports'> {
  sessionStore?:
    | Omit<ClassProvider<SessionStore>, 'provide'>
    | Omit<FactoryProvider<SessionStore>, 'provide'>
    | Omit<ValueProvider<SessionStore>, 'provide'>;
}

/** `GatewayModule.forRegisterAsync()`: register options from DI. */
export type RegisterAsyncOptions = RoleAsyncOptions<RegisterOptions>;
/** `GatewayModule.forGatewayAsync()`: gateway options from DI. */
export type GatewayAsyncOptions = RoleAsyncOptions<GatewayOptions>;
/** `GatewayModule.forWorkerAsync()`: worker options from DI, and optionally a SessionStore from DI (see WorkerModuleExtras). */
export type WorkerAsyncOptions = RoleAsyncOptions<WorkerOptions> & Pick<WorkerModuleExtras, 'sessionStore'>;
/** `GatewayModule.forClientAsync()`: GatewayClient options from DI, e.g. a factory that reads ConfigService. */
export type GatewayClientAsyncOptions = RoleAsyncOptions<GatewayClientOptions>;

/**
 * The GatewayWorker library as a Nest module: one static method per role, and its async variant for options from DI
 * (`imports` / `inject` / `useFactory`, or `useClass` / `useExisting`). Options usually come from the environment
 * (`registerOptionsFromEnv()`, `gatewayOptionsFromEnv()`, `workerOptionsFromEnv()`, `gatewayClientOptionsFromEnv()`);
 * every method checks them with the role's resolve function: the synchronous ones when called, the async ones when
 * the module is created. A bad option is a ConfigError naming it.
 */
@Module({})
export class GatewayModule {
  /** A register: listens when the application boots, closes on shutdown. */
  static forRegister(options: RegisterOptions): DynamicModule {
    return GatewayModule.serverModule(
      RegisterServer,
      GATEWAY_REGISTER_OPTIONS,
      [],
      [{ provide: GATEWAY_REGISTER_OPTIONS, useValue: resolveRegisterOptions(options) }],
      registerAdminTarget,
    );
  }

  /** forRegister with options from DI. */
  static forRegisterAsync(options: RegisterAsyncOptions): DynamicModule {
    return GatewayModule.serverModule(
      RegisterServer,
      GATEWAY_REGISTER_OPTIONS,
      options.imports ?? [],
      asyncOptionsProviders('forRegisterAsync', GATEWAY_REGISTER_OPTIONS, options, resolveRegisterOptions),
      registerAdminTarget,
    );
  }

  /** A gateway: client and inner listeners start when the application boots, drain on shutdown. */
  static forGateway(options: GatewayOptions): DynamicModule {
    return GatewayModule.serverModule(
      GatewayServer,
      GATEWAY_SERVER_OPTIONS,
      [],
      [{ provide: GATEWAY_SERVER_OPTIONS, useValue: resolveGatewayOptions(options) }],
      gatewayAdminTarget,
    );
  }

  /** forGateway with options from DI. */
  static forGatewayAsync(options: GatewayAsyncOptions): DynamicModule {
    return GatewayModule.serverModule(
      GatewayServer,
      GATEWAY_SERVER_OPTIONS,
      options.imports ?? [],
      asyncOptionsProviders('forGatewayAsync', GATEWAY_SERVER_OPTIONS, options, resolveGatewayOptions),
      gatewayAdminTarget,
    );
  }

  /**
   * A worker: provides the transport strategy (pass it to createMicroservice with `inject: [GatewayTransport]`)
   * and the injectable GatewayClient, available in every module.
   */
  static forWorker(options: WorkerOptions, extras: WorkerModuleExtras = {}): DynamicModule {
    return GatewayModule.workerModule(
      extras.imports ?? [],
      [{ provide: GATEWAY_WORKER_OPTIONS, useValue: resolveWorkerOptions(options) }],
      extras.sessionStore,
    );
  }

  /** forWorker with options from DI; `sessionStore` as in forWorker's extras (its dependencies from `imports`). */
  static forWorkerAsync(options: WorkerAsyncOptions): DynamicModule {
    return GatewayModule.workerModule(
      options.imports ?? [],
      asyncOptionsProviders('forWorkerAsync', GATEWAY_WORKER_OPTIONS, options, resolveWorkerOptions),
      options.sessionStore,
    );
  }

  /**
   * A GatewayClient for any Nest app that is not a worker (HTTP API, cron, queue consumer): it learns the
   * gateways from the register and keeps pooled links to them, closed on application shutdown. Global:
   * inject it anywhere with `@Inject(GatewayClient)`.
   */
  static forClient(options: GatewayClientOptions): DynamicModule {
    return GatewayModule.clientModule(
      [],
      [{ provide: GATEWAY_CLIENT_OPTIONS, useValue: resolveGatewayClientOptions(options) }],
    );
  }

  /** forClient with options from DI: `{ imports: [ConfigModule], inject: [ConfigService], useFactory }`. */
  static forClientAsync(options: GatewayClientAsyncOptions): DynamicModule {
    return GatewayModule.clientModule(
      options.imports ?? [],
      asyncOptionsProviders('forClientAsync', GATEWAY_CLIENT_OPTIONS, options, resolveGatewayClientOptions),
    );
  }

  /**
   * A role that is one server object built from its resolved options (the register, the gateway), with its admin
   * listener (AdminServer; inert unless the options' `admin` is set).
   */
  private static serverModule<O extends { admin: ResolvedAdminOptions | null }, S extends object>(
    server: new (options: O) => S,
    optionsToken: symbol,
    imports: DynamicModule['imports'],
    optionProviders: Provider[],
    adminTarget: (server: S) => AdminTarget,
  ): DynamicModule {
    return {
      module: GatewayModule,
      imports,
      providers: [
        ...optionProviders,
        { provide: server, useFactory: (o: O) => new server(o), inject: [optionsToken] },
        GatewayModule.adminProvider(optionsToken, server, adminTarget),
      ],
      exports: [server, optionsToken, AdminServer],
    };
  }

  /** The role's AdminServer, from its resolved options' `admin` and the role's provider. */
  private static adminProvider<S>(
    optionsToken: symbol,
    role: InjectionToken,
    adminTarget: (role: S) => AdminTarget,
  ): Provider {
    return {
      provide: AdminServer,
      useFactory: (o: { admin: ResolvedAdminOptions | null }, r: S) => new AdminServer(o.admin, adminTarget(r)),
      inject: [optionsToken, role],
    };
  }

  private static workerModule(
    imports: DynamicModule['imports'],
    optionProviders: Provider[],
    sessionStore: WorkerModuleExtras['sessionStore'],
  ): DynamicModule {
    const storeProviders: Provider[] = sessionStore
      ? [{ provide: GATEWAY_SESSION_STORE, ...sessionStore } as Provider]
      : [];
    return {
      module: GatewayModule,
      global: true,
      imports,
      providers: [
        ...optionProviders,
        ...storeProviders,
        {
          provide: GatewayTransport,
          // A store from DI takes the place of options.sessionStore.
          useFactory: (
            options: ResolvedWorkerOptions,
            modules: ModulesContainer,
            config: ApplicationConfig,
            http: HttpAdapterHost,
            store?: SessionStore,
          ) => {
            const transport = new GatewayTransport(store ? { ...options, sessionStore: store } : options);
            // Where the handlers' methods are, for the fast path (handlers without guards, pipes, ...).
            transport.useNestContainer({
              modules: { [Symbol.iterator]: () => modules.values() },
              config,
              hybrid: () => http.httpAdapter !== undefined && http.httpAdapter !== null,
            });
            return transport;
          },
          inject: [
            GATEWAY_WORKER_OPTIONS,
            ModulesContainer,
            ApplicationConfig,
            HttpAdapterHost,
            { token: GATEWAY_SESSION_STORE, optional: true },
          ],
        },
        {
          provide: GatewayClient,
          useFactory: (transport: GatewayTransport) => transport.client,
          inject: [GatewayTransport],
        },
        GatewayModule.adminProvider(GATEWAY_WORKER_OPTIONS, GatewayTransport, workerAdminTarget),
      ],
      exports: [
        GatewayTransport,
        GatewayClient,
        AdminServer,
        GATEWAY_WORKER_OPTIONS,
        ...(sessionStore ? [GATEWAY_SESSION_STORE] : []),
      ],
    };
  }

  private static clientModule(imports: DynamicModule['imports'], optionProviders: Provider[]): DynamicModule {
    return {
      module: GatewayModule,
      global: true,
      imports,
      providers: [
        ...optionProviders,
        {
          provide: GatewayClientPool,
          useFactory: (o: ResolvedGatewayClientOptions) => new GatewayClientPool(o),
          inject: [GATEWAY_CLIENT_OPTIONS],
        },
        { provide: GatewayClient, useFactory: (pool: GatewayClientPool) => pool.client, inject: [GatewayClientPool] },
        GatewayModule.adminProvider(GATEWAY_CLIENT_OPTIONS, GatewayClientPool, clientAdminTarget),
      ],
      exports: [GatewayClient, AdminServer, GATEWAY_CLIENT_OPTIONS],
    };
  }
}
