import { GatewayModule, type WorkerOptions } from 'nest-gateway-worker';
import { Module, type DynamicModule } from '@nestjs/common';
import { ApiController } from './api/api.controller';
import { ChatController } from './chat/chat.controller';
import { EchoController } from './echo.controller';
import { ProcessInfoController } from './process-info.controller';

/** The example business app: chat rooms, echo for anything else, and an HTTP push API. */
@Module({})
export class WorkerAppModule {
  static configure(options: WorkerOptions): DynamicModule {
    return {
      module: WorkerAppModule,
      imports: [GatewayModule.forWorker(options)],
      controllers: [ChatController, EchoController, ApiController, ProcessInfoController],
    };
  }
}
