import { Module, type DynamicModule, type FactoryProvider, type ModuleMetadata } from '@nestjs/common';
import { GatewayClient } from './client/gateway-client';
import type { GatewayClientModuleOptions } from './client/gateway-client-options';
import { GatewayClientPool } from './client/gateway-client-pool';
import { GatewayServer } from './gateway/gateway-server';
import type { GatewayOptions } from './gateway/gateway-options';
import { RegisterServer } from './register/register-server';
import type { RegisterOptions } from './register/register-options';
import { GatewayTransport } from './worker/gateway-transport';
import type { WorkerOptions } from './worker/worker-options';

/** Injection token of the options given to `GatewayModule.forClientAsync`. */
export const GATEWAY_CLIENT_OPTIONS = Symbol('GATEWAY_CLIENT_OPTIONS');

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
  static forWorker(options: WorkerOptions): DynamicModule {
    return {
      module: GatewayModule,
      global: true,
      providers: [
        { provide: GatewayTransport, useFactory: () => new GatewayTransport(options) },
        { provide: GatewayClient, useFactory: (transport: GatewayTransport) => transport.client, inject: [GatewayTransport] },
      ],
      exports: [GatewayTransport, GatewayClient],
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
