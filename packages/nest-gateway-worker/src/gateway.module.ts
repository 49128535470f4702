import {
  Module,
  type ClassProvider,
  type DynamicModule,
  type FactoryProvider,
  type ModuleMetadata,
  type Provider,
  type ValueProvider,
} from '@nestjs/common';
import { GatewayClient } from './client/gateway-client';
import type { GatewayClientModuleOptions } from './client/gateway-client-options';
import { GatewayClientPool } from './client/gateway-client-pool';
import { GatewayServer } from './gateway/gateway-server';
import type { GatewayOptions } from './gateway/gateway-options';
import { RegisterServer } from './register/register-server';
import type { RegisterOptions } from './register/register-options';
import { GatewayTransport } from './worker/gateway-transport';
import type { WorkerOptions } from './worker/worker-options';
import { GATEWAY_SESSION_STORE, type SessionStore } from './worker/session-store';

/** Injection token of the options given to `GatewayModule.forClientAsync`. */
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

/** `GatewayModule.forClientAsync()`: options from a factory, e.g. one that reads ConfigService. */
export interface GatewayClientAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => GatewayClientModuleOptions | Promise<GatewayClientModuleOptions>;
  inject?: FactoryProvider['inject'];
}

/**
 * The GatewayWorker library as a Nest module: one static method per role. Options usually come from the
 * environment (`registerOptionsFromEnv()`, `gatewayOptionsFromEnv()`, `workerOptionsFromEnv()`).
 */
@Module({})
export class GatewayModule {
  /** A register: listens when the application boots, closes on shutdown. */
  static forRegister(options: RegisterOptions): DynamicModule {
    return {
      module: GatewayModule,
      providers: [{ provide: RegisterServer, useFactory: () => new RegisterServer(options) }],
      exports: [RegisterServer],
    };
  }

  /** A gateway: client and inner listeners start when the application boots, drain on shutdown. */
  static forGateway(options: GatewayOptions): DynamicModule {
    return {
      module: GatewayModule,
      providers: [{ provide: GatewayServer, useFactory: () => new GatewayServer(options) }],
      exports: [GatewayServer],
    };
  }

  /**
   * A worker: provides the transport strategy (pass it to createMicroservice with `inject: [GatewayTransport]`)
   * and the injectable GatewayClient, available in every module.
   */
  static forWorker(options: WorkerOptions, extras: WorkerModuleExtras = {}): DynamicModule {
    const storeProviders: Provider[] = extras.sessionStore ? [{ provide: GATEWAY_SESSION_STORE, ...extras.sessionStore } as Provider] : [];
    return {
      module: GatewayModule,
      global: true,
      imports: extras.imports ?? [],
      providers: [
        ...storeProviders,
        {
          provide: GatewayTransport,
          // A store from DI takes the place of options.sessionStore.
          useFactory: (store?: SessionStore) => new GatewayTransport(store ? { ...options, sessionStore: store } : options),
          inject: [{ token: GATEWAY_SESSION_STORE, optional: true }],
        },
        { provide: GatewayClient, useFactory: (transport: GatewayTransport) => transport.client, inject: [GatewayTransport] },
      ],
      exports: [GatewayTransport, GatewayClient, ...(extras.sessionStore ? [GATEWAY_SESSION_STORE] : [])],
    };
  }

  /**
   * A GatewayClient for any Nest app that is not a worker (HTTP API, cron, queue consumer): it learns the
   * gateways from the register and keeps pooled links to them, closed on application shutdown. Global:
   * inject it anywhere with `@Inject(GatewayClient)`.
   */
  static forClient(options: GatewayClientModuleOptions): DynamicModule {
    return GatewayModule.forClientAsync({ useFactory: () => options });
  }

  /** forClient with options from a factory: `{ imports: [ConfigModule], inject: [ConfigService], useFactory }`. */
  static forClientAsync(options: GatewayClientAsyncOptions): DynamicModule {
    return {
      module: GatewayModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: GATEWAY_CLIENT_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        {
          provide: GatewayClientPool,
          useFactory: (o: GatewayClientModuleOptions) => new GatewayClientPool(o),
          inject: [GATEWAY_CLIENT_OPTIONS],
        },
        { provide: GatewayClient, useFactory: (pool: GatewayClientPool) => pool.client, inject: [GatewayClientPool] },
      ],
      exports: [GatewayClient],
    };
  }
}
