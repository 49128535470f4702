import { NestFactory } from '@nestjs/core';
import type { Env } from '../config/environment';
import { GatewayModule } from '../gateway.module';
import type { ClientFraming } from '../gateway/listeners/client-framing';
import { gatewayOptionsFromEnv, resolveGatewayOptions, type GatewayOptions } from '../gateway/gateway-options';
import { registerOptionsFromEnv, resolveRegisterOptions, type RegisterOptions } from '../register/register-options';
import { checkInnerPortRange, innerPortOf } from './process-count';
import { runRole } from './run-role';

/** What `runGateway` adds to the environment's configuration (all optional). */
export interface GatewayRoleExtras {
  /** Custom raw TCP framings whose names GATEWAY_LISTEN may use as schemes. */
  framings?: ClientFraming[];
  /**
   * Options set in code, over those read from the environment (e.g. a `router` function, `listeners` with TLS
   * options); the result is checked as a whole, so a bad one stops the process like a bad variable.
   */
  options?: GatewayOptions;
}

/** What `runRegister` adds to the environment's configuration. */
export interface RegisterRoleExtras {
  /** Options set in code, over those read from the environment; checked like them. */
  options?: RegisterOptions;
}

/**
 * A register process, configured by REGISTER_LISTEN and SECRET_KEY (or INNER_PLAINTEXT=true): what
 * `gateway-worker register` runs. Always one process: several registers on different hosts are the way to
 * scale it. SIGINT / SIGTERM close the listener and every link, then exit 0 (at most 5 s).
 */
export function runRegister(extras: RegisterRoleExtras = {}, env: Env = process.env): void {
  runRole({
    role: 'Register',
    configure: () => resolveRegisterOptions({ ...registerOptionsFromEnv(env), ...extras.options }),
    shutdownTimeoutMs: () => 0,
    // abortOnError: false hands a start-up failure to runRole (one line, the right exit status) instead of exiting here.
    start: (options) =>
      NestFactory.createApplicationContext(GatewayModule.forRegister(options), { abortOnError: false }),
  });
}

/**
 * A gateway process, configured by GATEWAY_LISTEN, GATEWAY_LAN_IP, GATEWAY_START_PORT, REGISTER_ADDRESS,
 * SECRET_KEY and the GATEWAY_* limits: what `gateway-worker gateway` runs. GATEWAY_COUNT=n runs n gateway
 * processes (a Node cluster): they share the client listeners, and process i has its own inner port
 * GATEWAY_START_PORT + i. SIGINT / SIGTERM: the graceful stop, then exit 0 (bounded by
 * GATEWAY_SHUTDOWN_TIMEOUT_MS + 5 s).
 */
export function runGateway(extras: GatewayRoleExtras = {}, env: Env = process.env): void {
  runRole({
    role: 'Gateway',
    cluster: { countVariable: 'GATEWAY_COUNT', indexVariable: 'GATEWAY_INDEX' },
    configure: (count) => {
      const options = resolveGatewayOptions({
        ...gatewayOptionsFromEnv(env, extras.framings ?? []),
        ...extras.options,
      });
      checkInnerPortRange(options.startPort, count);
      return options;
    },
    shutdownTimeoutMs: (options) => options.shutdownTimeoutMs,
    start: (options, index) =>
      NestFactory.createApplicationContext(
        GatewayModule.forGateway({ ...options, startPort: innerPortOf(options.startPort, index) }),
        { abortOnError: false },
      ),
  });
}
