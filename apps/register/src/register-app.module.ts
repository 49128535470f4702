import { GatewayModule, type RegisterOptions } from '@app/gateway';
import { Module, type DynamicModule } from '@nestjs/common';

@Module({})
export class RegisterAppModule {
  static configure(options: RegisterOptions): DynamicModule {
    return { module: RegisterAppModule, imports: [GatewayModule.forRegister(options)] };
  }
}
