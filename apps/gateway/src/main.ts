import { checkInnerPortRange, DEFAULT_SHUTDOWN_TIMEOUT_MS, gatewayOptionsFromEnv, innerPortOf, runRole } from '@app/gateway';
import { NestFactory } from '@nestjs/core';
import { GatewayAppModule } from './gateway-app.module';

// Configured by GATEWAY_LISTEN, GATEWAY_LAN_IP, GATEWAY_START_PORT, REGISTER_ADDRESS, SECRET_KEY and the
// GATEWAY_MAX_* / GATEWAY_PENDING_* limits; see README.md. GATEWAY_COUNT=n runs n gateway processes (a Node
// cluster): they share the client listeners, and process i has its own inner port GATEWAY_START_PORT + i.
// SIGINT / SIGTERM: the graceful stop, then exit 0 (bounded by GATEWAY_SHUTDOWN_TIMEOUT_MS + 5 s).
runRole({
  role: 'Gateway',
  cluster: { countVariable: 'GATEWAY_COUNT', indexVariable: 'GATEWAY_INDEX' },
  configure: (count) => {
    const options = gatewayOptionsFromEnv();
    checkInnerPortRange(options.startPort, count);
    return options;
  },
  shutdownTimeoutMs: (options) => options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
  start: (options, index) =>
    NestFactory.createApplicationContext(
      GatewayAppModule.configure({ ...options, startPort: innerPortOf(options.startPort, index) }),
    ),
});
