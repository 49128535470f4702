import { runGateway } from 'nest-gateway-worker';

// The same role as `npx gateway-worker gateway`: configured by GATEWAY_LISTEN, GATEWAY_LAN_IP,
// GATEWAY_START_PORT, REGISTER_ADDRESS, SECRET_KEY and the GATEWAY_* limits; see README.md. GATEWAY_COUNT=n
// runs n gateway processes. SIGINT / SIGTERM: the graceful stop, then exit 0.
runGateway();
