import { readHostPort, readSecret, type Env, type HostPort } from '../config/environment';

export interface RegisterOptions {
  /** Address the register listens on. Env REGISTER_LISTEN, default 127.0.0.1:1236. */
  listen: HostPort;
  /** Shared secret of the inner links; null = plaintext (INNER_PLAINTEXT=true). Env SECRET_KEY. */
  secret: Buffer | null;
  /** A peer must finish the handshake and send its hello within this many milliseconds. Default 10 000. */
  helloTimeoutMs?: number;
}

export function registerOptionsFromEnv(env: Env = process.env): RegisterOptions {
  return { listen: readHostPort(env, 'REGISTER_LISTEN', '127.0.0.1:1236'), secret: readSecret(env) };
}
