import type { RegisterServer } from '../../register/register-server';
import { readiness, type Readiness } from './readiness';

/** A register is ready while it listens (its list may be empty: gateways announce themselves to it). */
export function registerReadiness(server: RegisterServer): Readiness {
  const checks = { listening: server.listening, gateways: server.addresses.length };
  return server.listening ? readiness(checks) : readiness(checks, 'the register is not listening');
}
