import { GatewayModule, type WorkerOptions } from '@app/gateway';
import { Module, type DynamicModule } from '@nestjs/common';
import { EchoController } from './echo.controller';

@Module({})
export class WorkerAppModule {
  static configure(options: WorkerOptions): DynamicModule {
    return { module: WorkerAppModule, imports: [GatewayModule.forWorker(options)], controllers: [EchoController] };
  }
}
