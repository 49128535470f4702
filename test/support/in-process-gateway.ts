import { GatewayServer, type GatewayOptions } from 'nest-gateway-worker';
import { parseHostPort, resolveGatewayOptions } from 'nest-gateway-worker/internal';
import { TEST_SECRET } from './roles';

/**
 * A gateway in the test's own process (for options no environment variable sets, and for its counters): one
 * WebSocket listener and the inner port on ephemeral ports of 127.0.0.1, registered with `registerAddress` (null: no
 * register, e.g. with the backplane's discovery), the tests' secret, then `options`. Not started: call `start()` (and `stop()` when done).
 */
export function inProcessGatewayServer(
  registerAddress: string | null,
  options: Partial<GatewayOptions> = {},
): GatewayServer {
  return new GatewayServer(
    resolveGatewayOptions({
      listeners: [{ url: 'ws://127.0.0.1:0' }],
      lanIp: '127.0.0.1',
      startPort: 0,
      registers: registerAddress === null ? [] : [parseHostPort('REGISTER_ADDRESS', registerAddress)],
      secret: Buffer.from(TEST_SECRET),
      ...options,
    }),
  );
}
