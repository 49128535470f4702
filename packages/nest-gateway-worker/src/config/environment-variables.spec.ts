import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GATEWAY_BACKPLANE_VARIABLES, WORKER_BACKPLANE_VARIABLES } from '../backplane/backplane-options';
import { ENVIRONMENT_VARIABLES, type RoleName } from './environment-variables';
import { GATEWAY_ENVIRONMENT, gatewayOptionsFromEnv } from '../gateway/gateway-options';
import { REGISTER_ENVIRONMENT, registerOptionsFromEnv } from '../register/register-options';
import { HEAP_GROWING_PERCENT_VARIABLE } from '../process/heap-growth';
import { WORKER_ENVIRONMENT, workerOptionsFromEnv } from '../worker/worker-options';

/** Variables of the example apps, documented in the same README table but not read by the package. */
const APP_VARIABLES = ['HTTP_LISTEN', 'DASHBOARD_TOKEN'];

const README = resolve(__dirname, '..', '..', '..', '..', 'README.md');

interface Row {
  name: string;
  roles: RoleName[];
  defaultText: string;
}

/** The rows of the README's Configuration table: `| \`NAME\` | roles | default | meaning |`. */
function readmeRows(): Row[] {
  const text = readFileSync(README, 'utf8');
  const section = text.slice(
    text.indexOf('\n## Configuration'),
    text.indexOf('\n## ', text.indexOf('\n## Configuration') + 1),
  );
  return section
    .split('\n')
    .filter((line) => /^\| `[A-Z_]+` \|/.test(line))
    .map((line): Row => {
      const [name, roles, defaultText] = line.split(' | ').map((cell) => cell.replace(/^\| /, '').trim());
      return {
        name: name.replace(/`/g, ''),
        roles: roles === 'all' ? ['register', 'gateway', 'worker'] : (roles.split(', ') as RoleName[]),
        defaultText: defaultText.replace(/`/g, ''),
      };
    })
    .filter((row) => !APP_VARIABLES.includes(row.name));
}

describe('the environment variables: one list for --help and the README', () => {
  it('the README table has the same variables, roles and defaults, in the same order', () => {
    const rows = readmeRows();
    expect(rows.length).toBeGreaterThan(20);
    expect(rows).toEqual(
      ENVIRONMENT_VARIABLES.map((v) => ({ name: v.name, roles: [...v.roles], defaultText: v.defaultText })),
    );
  });

  it('every variable a role reads is in the list, for that role', () => {
    const listed = (role: RoleName) => ENVIRONMENT_VARIABLES.filter((v) => v.roles.includes(role)).map((v) => v.name);
    const read: Record<RoleName, string[]> = {
      register: [...Object.values(REGISTER_ENVIRONMENT), HEAP_GROWING_PERCENT_VARIABLE],
      gateway: [
        ...Object.values(GATEWAY_ENVIRONMENT),
        HEAP_GROWING_PERCENT_VARIABLE,
        'GATEWAY_TLS_CERT',
        'GATEWAY_TLS_KEY',
        'GATEWAY_COUNT',
        ...GATEWAY_BACKPLANE_VARIABLES,
      ],
      worker: [
        ...Object.values(WORKER_ENVIRONMENT),
        'WORKER_COUNT',
        HEAP_GROWING_PERCENT_VARIABLE,
        ...WORKER_BACKPLANE_VARIABLES,
      ],
    };
    for (const role of Object.keys(read) as RoleName[]) {
      expect({ role, variables: [...listed(role)].sort() }).toEqual({ role, variables: [...read[role]].sort() });
    }
  });

  it('the defaults shown are the ones the readers apply', () => {
    const secret = { SECRET_KEY: 'a-secret-of-16-chars' };
    const register = registerOptionsFromEnv(secret);
    const gateway = gatewayOptionsFromEnv(secret);
    const worker = workerOptionsFromEnv(secret);
    const shown = (name: string) => ENVIRONMENT_VARIABLES.find((v) => v.name === name)!.defaultText;
    const hostPort = (a: { host: string; port: number }) => `${a.host}:${a.port}`;
    expect(shown('REGISTER_LISTEN')).toBe(hostPort(register.listen));
    expect(shown('REGISTER_ADDRESS')).toBe(gateway.registers.map(hostPort).join(','));
    expect(shown('REGISTER_ADDRESS')).toBe(worker.registers.map(hostPort).join(','));
    expect(shown('GATEWAY_LISTEN')).toBe(gateway.listeners.map((l) => l.url).join(','));
    expect(shown('GATEWAY_LAN_IP')).toBe(gateway.lanIp);
    expect(shown('INNER_PLAINTEXT')).toBe(String(gateway.plaintext));
    const numbers: Record<string, number | boolean | string> = {
      GATEWAY_START_PORT: gateway.startPort,
      GATEWAY_MAX_MESSAGE_BYTES: gateway.maxMessageSize,
      GATEWAY_MAX_BUFFERED_BYTES: gateway.maxClientBufferedBytes,
      GATEWAY_MAX_CONNECTIONS: gateway.maxConnections,
      GATEWAY_MAX_CONNECTIONS_PER_IP: gateway.maxConnectionsPerIp,
      GATEWAY_HANDSHAKE_TIMEOUT_MS: gateway.handshakeTimeoutMs,
      GATEWAY_RATE_LIMIT: gateway.messageRateLimit,
      GATEWAY_PING_INTERVAL: gateway.pingInterval,
      GATEWAY_PING_NOT_RESPONSE_LIMIT: gateway.pingNotResponseLimit,
      GATEWAY_WS_PING: gateway.webSocketPing,
      GATEWAY_PENDING_EVENTS: gateway.pendingEventsLimit,
      GATEWAY_PENDING_BYTES: gateway.pendingBytesLimit,
      GATEWAY_PENDING_MAX_AGE_MS: gateway.pendingMaxAgeMs,
      GATEWAY_WORKER_UNACKED_BYTES: gateway.maxUnackedBytesPerWorker,
      GATEWAY_ROUTER: gateway.router as string,
      GATEWAY_SHUTDOWN_TIMEOUT_MS: gateway.shutdownTimeoutMs,
      WORKER_NAME: worker.name,
      WORKER_DRAIN_TIMEOUT_MS: worker.drainTimeoutMs,
      GATEWAY_TIMEOUT_MS: worker.timeoutMs,
      GATEWAY_STRICT: worker.rejectOnGatewayFailure,
    };
    for (const [name, value] of Object.entries(numbers)) {
      // "1048576 (1 MiB)", "0 (unlimited)": the value comes first.
      expect({ name, shown: shown(name).split(' ')[0] }).toEqual({ name, shown: String(value) });
    }
    expect(gateway.pingData).toBe('');
    expect(shown('GATEWAY_PING_DATA')).toBe('empty');
  });
});
