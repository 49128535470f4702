import { GatewayModule } from 'nest-gateway-worker';
import { Module } from '@nestjs/common';
import { NotifierService } from './notifier.service';

/**
 * An ordinary Nest app (not a worker) that pushes to WebSocket clients: it only imports
 * `GatewayModule.forClient...()` and injects GatewayClient. Options come from the environment here; with
 * @nestjs/config it would be `forClientAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory })`.
 */
@Module({
  imports: [
    GatewayModule.forClientAsync({
      useFactory: () => ({
        registerAddress: (process.env.REGISTER_ADDRESS ?? '127.0.0.1:1236').split(','),
        secretKey: process.env.SECRET_KEY,
      }),
    }),
  ],
  providers: [NotifierService],
  exports: [NotifierService],
})
export class NotifierModule {}
