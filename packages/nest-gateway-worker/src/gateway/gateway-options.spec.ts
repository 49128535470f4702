import { ConfigError } from '../config/environment';
import { TextFraming } from './listeners/text-framing';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_PENDING_BYTES,
  DEFAULT_PENDING_EVENTS,
  DEFAULT_PENDING_MAX_AGE_MS,
  DEFAULT_MAX_UNACKED_BYTES_PER_WORKER,
  DEFAULT_MAX_EVENT_DEATHS,
  DEFAULT_PING_INTERVAL_SECONDS,
  DEFAULT_PING_NOT_RESPONSE_LIMIT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  gatewayOptionsFromEnv,
  resolveGatewayOptions,
  type GatewayOptions,
} from './gateway-options';

const SECRET = 'gateway-secret-0123';

describe('gateway options', () => {
  it('fills in every default, from code and from the environment alike', () => {
    const fromCode = resolveGatewayOptions({ secret: SECRET });
    expect(fromCode).toEqual({
      listeners: [{ url: 'ws://0.0.0.0:7272' }],
      framings: [],
      lanIp: '127.0.0.1',
      startPort: 2000,
      registers: [{ host: '127.0.0.1', port: 1236 }],
      backplane: null,
      secret: Buffer.from(SECRET),
      plaintext: false,
      wireProfile: 'native',
      phpSecretKey: '',
      maxMessageSize: DEFAULT_MAX_MESSAGE_BYTES,
      maxFrameSize: 10 * 1024 * 1024,
      maxClientBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES,
      pendingEventsLimit: DEFAULT_PENDING_EVENTS,
      pendingBytesLimit: DEFAULT_PENDING_BYTES,
      pendingMaxAgeMs: DEFAULT_PENDING_MAX_AGE_MS,
      maxUnackedBytesPerWorker: DEFAULT_MAX_UNACKED_BYTES_PER_WORKER,
      maxEventDeaths: DEFAULT_MAX_EVENT_DEATHS,
      router: 'least-connections',
      pingInterval: DEFAULT_PING_INTERVAL_SECONDS,
      pingNotResponseLimit: DEFAULT_PING_NOT_RESPONSE_LIMIT,
      pingData: '',
      webSocketPing: true,
      messageRateLimit: 0,
      messageRateBurst: 1,
      maxConnections: 0,
      maxConnectionsPerIp: 0,
      handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
      shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
      admin: null,
    });
    expect(gatewayOptionsFromEnv({ SECRET_KEY: SECRET })).toEqual(fromCode);
  });

  it('reads every variable into its field', () => {
    const env = {
      SECRET_KEY: SECRET,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0/chat, text://127.0.0.1:0',
      GATEWAY_LAN_IP: '10.1.2.3',
      GATEWAY_START_PORT: '0',
      REGISTER_ADDRESS: '10.0.0.1:1,10.0.0.2:2',
      GATEWAY_MAX_MESSAGE_BYTES: '2048',
      GATEWAY_MAX_BUFFERED_BYTES: '4096',
      GATEWAY_PENDING_EVENTS: '5',
      GATEWAY_PENDING_BYTES: '6',
      GATEWAY_PENDING_MAX_AGE_MS: '700',
      GATEWAY_WORKER_UNACKED_BYTES: '65536',
      GATEWAY_MAX_EVENT_DEATHS: '0',
      GATEWAY_ROUTER: 'latency',
      GATEWAY_PING_INTERVAL: '0.5',
      GATEWAY_PING_NOT_RESPONSE_LIMIT: '0',
      GATEWAY_PING_DATA: ' ping ',
      GATEWAY_WS_PING: 'off',
      GATEWAY_RATE_LIMIT: '2.5',
      GATEWAY_MAX_CONNECTIONS: '100',
      GATEWAY_MAX_CONNECTIONS_PER_IP: '10',
      GATEWAY_HANDSHAKE_TIMEOUT_MS: '500',
      GATEWAY_SHUTDOWN_TIMEOUT_MS: '0',
    };
    expect(gatewayOptionsFromEnv(env)).toMatchObject({
      listeners: [{ url: 'ws://127.0.0.1:0/chat' }, { url: 'text://127.0.0.1:0' }],
      lanIp: '10.1.2.3',
      startPort: 0,
      registers: [
        { host: '10.0.0.1', port: 1 },
        { host: '10.0.0.2', port: 2 },
      ],
      maxMessageSize: 2048,
      maxClientBufferedBytes: 4096,
      pendingEventsLimit: 5,
      pendingBytesLimit: 6,
      pendingMaxAgeMs: 700,
      maxUnackedBytesPerWorker: 65536,
      maxEventDeaths: 0,
      router: 'latency',
      pingInterval: 0.5,
      pingNotResponseLimit: 0,
      pingData: 'ping',
      webSocketPing: false,
      messageRateLimit: 2.5,
      messageRateBurst: 3, // the rate rounded up
      maxConnections: 100,
      maxConnectionsPerIp: 10,
      handshakeTimeoutMs: 500,
      shutdownTimeoutMs: 0,
    });
    expect(gatewayOptionsFromEnv({ ...env, GATEWAY_RATE_BURST: '7' }).messageRateBurst).toBe(7);
  });

  it('keeps a router function and custom framings given in code', () => {
    const router = () => undefined;
    const framing = new TextFraming();
    const o = resolveGatewayOptions({
      plaintext: true,
      router,
      framings: [framing],
      listeners: [{ url: 'text://0.0.0.0:0' }],
    });
    expect(o.router).toBe(router);
    expect(o.framings).toEqual([framing]);
  });

  it('checks options from the environment spread and overridden in code again', () => {
    const fromEnv = gatewayOptionsFromEnv({ SECRET_KEY: SECRET });
    expect(resolveGatewayOptions({ ...fromEnv, maxConnections: 10 }).maxConnections).toBe(10);
    expect(() => resolveGatewayOptions({ ...fromEnv, maxConnections: -1 })).toThrow(
      /^GatewayOptions\.maxConnections=-1 is invalid: expected an integer from 0 to 100000000$/,
    );
  });

  it.each<[GatewayOptions, RegExp]>([
    [
      { plaintext: true, maxConnections: -1 },
      /^GatewayOptions\.maxConnections=-1 is invalid: expected an integer from 0 to 100000000$/,
    ],
    [{ plaintext: true, maxMessageSize: 1.5 }, /^GatewayOptions\.maxMessageSize=1\.5 is invalid: expected an integer/],
    [
      { plaintext: true, lanIp: 'localhost' },
      /^GatewayOptions\.lanIp="localhost" is invalid: expected a dotted IPv4 address/,
    ],
    [
      { plaintext: true, startPort: 70000 },
      /^GatewayOptions\.startPort=70000 is invalid: expected a port number 0-65535$/,
    ],
    [
      { plaintext: true, pingInterval: 0.05 },
      /^GatewayOptions\.pingInterval=0\.05 is invalid: expected 0 \(off\) or at least 0\.1 seconds$/,
    ],
    [
      { plaintext: true, pingData: 'x'.repeat(4097) },
      /^GatewayOptions\.pingData=".*" is invalid: expected at most 4096 characters$/,
    ],
    [
      { plaintext: true, router: 'fastest' as never },
      /^GatewayOptions\.router="fastest" is invalid: expected one of least-connections, random, latency$/,
    ],
    [
      { plaintext: true, webSocketPing: 'maybe' as never },
      /^GatewayOptions\.webSocketPing="maybe" is invalid: expected true or false$/,
    ],
    [
      { plaintext: true, listeners: [] },
      /^GatewayOptions\.listeners\[0\]\.url: at least one client listener is needed$/,
    ],
    [
      { plaintext: true, listeners: [{ url: 'http://x:1' }] },
      /^GatewayOptions\.listeners\[0\]\.url="http:\/\/x:1" is invalid/,
    ],
    [
      { plaintext: true, listeners: [{ url: 'wss://0.0.0.0:1' }] },
      /^GatewayOptions\.listeners\[0\]\.url="wss:\/\/0\.0\.0\.0:1" is invalid: .*tls/,
    ],
    [{ plaintext: true, registers: [] }, /^GatewayOptions\.registers is empty/],
    [
      { plaintext: true, maxEventDeaths: -1 },
      /^GatewayOptions\.maxEventDeaths=-1 is invalid: expected an integer from 0 to 1000$/,
    ],
    [
      { plaintext: true, handshakeTimeoutMs: 99 },
      /^GatewayOptions\.handshakeTimeoutMs=99 is invalid: expected an integer from 100 to 600000$/,
    ],
    [
      { plaintext: true, handshakeTimeoutMs: 0 },
      /^GatewayOptions\.handshakeTimeoutMs=0 is invalid: expected an integer from 100 to 600000$/,
    ],
    [
      { secret: SECRET, plaintext: true },
      /^GatewayOptions\.secret is set together with GatewayOptions\.plaintext=true: choose one$/,
    ],
  ])('code: %j is refused naming the option', (options, message) => {
    expect(() => resolveGatewayOptions(options)).toThrow(ConfigError);
    expect(() => resolveGatewayOptions(options)).toThrow(message);
  });

  it.each<[Record<string, string>, RegExp]>([
    [
      { GATEWAY_MAX_CONNECTIONS: '-1' },
      /^GATEWAY_MAX_CONNECTIONS="-1" is invalid: expected an integer from 0 to 100000000$/,
    ],
    [
      { GATEWAY_MAX_MESSAGE_BYTES: '1MB' },
      /^GATEWAY_MAX_MESSAGE_BYTES="1MB" is invalid: expected an integer from 1 to 104857600$/,
    ],
    [{ GATEWAY_LAN_IP: 'localhost' }, /^GATEWAY_LAN_IP="localhost" is invalid: expected a dotted IPv4 address/],
    [
      { GATEWAY_MAX_EVENT_DEATHS: 'three' },
      /^GATEWAY_MAX_EVENT_DEATHS="three" is invalid: expected an integer from 0 to 1000$/,
    ],
    [{ GATEWAY_START_PORT: '70000' }, /^GATEWAY_START_PORT="70000" is invalid: expected a port number 0-65535$/],
    [
      { GATEWAY_PING_INTERVAL: '0.05' },
      /^GATEWAY_PING_INTERVAL="0\.05" is invalid: expected 0 \(off\) or at least 0\.1 seconds$/,
    ],
    [
      { GATEWAY_PING_INTERVAL: 'often' },
      /^GATEWAY_PING_INTERVAL="often" is invalid: expected a number from 0 to 86400$/,
    ],
    [
      { GATEWAY_ROUTER: 'fastest' },
      /^GATEWAY_ROUTER="fastest" is invalid: expected one of least-connections, random, latency$/,
    ],
    [{ GATEWAY_LISTEN: 'http://x:1' }, /^GATEWAY_LISTEN="http:\/\/x:1" is invalid/],
    [{ GATEWAY_RATE_BURST: '0' }, /^GATEWAY_RATE_BURST="0" is invalid: expected an integer from 1 to 1000000$/],
    [
      { GATEWAY_HANDSHAKE_TIMEOUT_MS: '10s' },
      /^GATEWAY_HANDSHAKE_TIMEOUT_MS="10s" is invalid: expected an integer from 100 to 600000$/,
    ],
    [
      { GATEWAY_HANDSHAKE_TIMEOUT_MS: '600001' },
      /^GATEWAY_HANDSHAKE_TIMEOUT_MS="600001" is invalid: expected an integer from 100 to 600000$/,
    ],
    [{ REGISTER_ADDRESS: '1.2.3.4' }, /^REGISTER_ADDRESS="1\.2\.3\.4" is invalid: expected host:port/],
  ])('env: %j is refused naming the variable', (env, message) => {
    expect(() => gatewayOptionsFromEnv({ SECRET_KEY: SECRET, ...env })).toThrow(message);
  });
});
