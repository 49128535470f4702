import { GatewayModule, type GatewayOptions } from '@app/gateway';
import { Module, type DynamicModule } from '@nestjs/common';

@Module({})
export class GatewayAppModule {
  static configure(options: GatewayOptions): DynamicModule {
    return { module: GatewayAppModule, imports: [GatewayModule.forGateway(options)] };
  }
}
