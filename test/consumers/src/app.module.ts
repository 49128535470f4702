import { Module, type DynamicModule } from '@nestjs/common';
import { GatewayModule, type WorkerOptions } from 'nest-gateway-worker';
import { ChatController } from './chat.controller';
import { EchoController } from './echo.controller';
import { PushController } from './push.controller';

@Module({})
export class AppModule {
  static configure(options: WorkerOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [GatewayModule.forWorker(options)],
      controllers: [ChatController, EchoController, PushController],
    };
  }
}
