import { GatewayDashboardModule, GatewayModule, type WorkerOptions } from 'nest-gateway-worker';
import { Module, type DynamicModule } from '@nestjs/common';
import { ApiController } from './api/api.controller';
import { ChatController } from './chat/chat.controller';
import { EchoController } from './echo.controller';
import { ProcessInfoController } from './process-info.controller';

/**
 * The example business app: chat rooms, echo for anything else, an HTTP push API, and the gateway dashboard at
 * /gateway-dashboard (DASHBOARD_TOKEN; without one it refuses every request).
 */
@Module({})
export class WorkerAppModule {
  static configure(options: WorkerOptions, dashboardToken: string | null = null): DynamicModule {
    return {
      module: WorkerAppModule,
      imports: [
        GatewayModule.forWorker(options),
        GatewayDashboardModule.forRoot({
          path: '/gateway-dashboard',
          auth: dashboardToken ? { token: dashboardToken } : {},
        }),
      ],
      controllers: [ChatController, EchoController, ApiController, ProcessInfoController],
    };
  }
}
