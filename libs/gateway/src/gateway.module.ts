import { Module, type DynamicModule } from '@nestjs/common';
import { GatewayClient } from './client/gateway-client';
import { GatewayServer } from './gateway/gateway-server';
import type { GatewayOptions } from './gateway/gateway-options';
import { RegisterServer } from './register/register-server';
import type { RegisterOptions } from './register/register-options';
import { GatewayTransport } from './worker/gateway-transport';
import type { WorkerOptions } from './worker/worker-options';

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
      providers: [{ provide: GatewayTransport, useFactory: () => new GatewayTransport(options) }, GatewayClient],
      exports: [GatewayTransport, GatewayClient],
    };
  }
}
