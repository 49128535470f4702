import { gatewayOptionsFromEnv, runOrExit } from '@app/gateway';
import { NestFactory } from '@nestjs/core';
import { GatewayAppModule } from './gateway-app.module';

// Configured by GATEWAY_LISTEN, GATEWAY_LAN_IP, GATEWAY_START_PORT, REGISTER_ADDRESS, SECRET_KEY and the
// GATEWAY_MAX_* / GATEWAY_PENDING_* limits; see README.md.
runOrExit('Gateway', async () => {
  const options = gatewayOptionsFromEnv();
  const app = await NestFactory.createApplicationContext(GatewayAppModule.configure(options));
  app.enableShutdownHooks();
});
