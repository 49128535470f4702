import { GatewayModule, gatewayClientOptionsFromEnv } from 'nest-gateway-worker';
import { Module } from '@nestjs/common';
import { NotifierService } from './notifier.service';

/**
 * An ordinary Nest app (not a worker) that pushes to WebSocket clients: it only imports
 * `GatewayModule.forClient...()` and injects GatewayClient. Options come from the environment here (the worker's
 * variables: REGISTER_ADDRESS, SECRET_KEY or INNER_PLAINTEXT, GATEWAY_TIMEOUT_MS, GATEWAY_STRICT), read when the app
 * is created; with @nestjs/config it would be
 * `forClientAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c) => ({ registers: c.get('REGISTER_ADDRESS'), ... }) })`.
 */
@Module({
  imports: [GatewayModule.forClientAsync({ useFactory: () => gatewayClientOptionsFromEnv() })],
  providers: [NotifierService],
  exports: [NotifierService],
})
export class NotifierModule {}
