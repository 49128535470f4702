/**
 * Every environment variable of the roles, with its default and meaning: the source of `gateway-worker --help`
 * (and of the README's configuration table, which a unit spec keeps in step with it). The readers that parse and
 * validate each variable live beside the options of their role.
 */
import {
  DEFAULT_BACKPLANE_CACHE,
  DEFAULT_BACKPLANE_LEASE_MS,
  DEFAULT_BACKPLANE_PREFIX,
  DEFAULT_BACKPLANE_RESYNC_MS,
  DEFAULT_BACKPLANE_TIMEOUT_MS,
  DEFAULT_SESSION_TTL_SECONDS,
} from '../backplane/backplane-options';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_SESSION_STORE,
  DEFAULT_WORKER_FAST_PATH,
  DEFAULT_WORKER_NAME,
} from '../worker/worker-options';
import { DEFAULT_REJECT_ON_GATEWAY_FAILURE, DEFAULT_TIMEOUT_MS } from '../client/gateway-client-options';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_LAN_IP,
  DEFAULT_LISTEN,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_MAX_EVENT_DEATHS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_UNACKED_BYTES_PER_WORKER,
  DEFAULT_MESSAGE_RATE_LIMIT,
  DEFAULT_PENDING_BYTES,
  DEFAULT_PENDING_EVENTS,
  DEFAULT_PENDING_MAX_AGE_MS,
  DEFAULT_PING_INTERVAL_SECONDS,
  DEFAULT_PING_NOT_RESPONSE_LIMIT,
  DEFAULT_ROUTER,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_START_PORT,
  DEFAULT_WEBSOCKET_PING,
} from '../gateway/gateway-options';
import { DEFAULT_WIRE_PROFILE } from '../php/wire-profile-options';
import { DEFAULT_HEAP_GROWING_PERCENT, HEAP_GROWING_PERCENT_VARIABLE } from '../process/heap-growth';
import { DEFAULT_PROCESS_COUNT } from '../process/process-count';
import { DEFAULT_REGISTER_LISTEN, DEFAULT_REGISTERS } from '../register/register-options';

export type RoleName = 'register' | 'gateway' | 'worker';

/** A byte count as the README shows it: `1048576 (1 MiB)`. */
function bytes(n: number): string {
  return `${n} (${n / (1024 * 1024)} MiB)`;
}

export interface EnvironmentVariable {
  name: string;
  /** The roles that read it. */
  roles: readonly RoleName[];
  /** The default as the README shows it ('—' = none). */
  defaultText: string;
  meaning: string;
}

export const ENVIRONMENT_VARIABLES: readonly EnvironmentVariable[] = [
  {
    name: 'SECRET_KEY',
    roles: ['register', 'gateway', 'worker'],
    defaultText: '— (required)',
    meaning:
      'shared secret of every inner link, at least 16 characters. Never sent, never logged: both ends of a link prove they know it.',
  },
  {
    name: 'INNER_PLAINTEXT',
    roles: ['register', 'gateway', 'worker'],
    defaultText: 'false',
    meaning:
      'true runs the inner links unencrypted and unauthenticated (only on a network you fully trust); SECRET_KEY must then be unset.',
  },
  {
    name: 'WIRE_PROFILE',
    roles: ['register', 'gateway', 'worker'],
    defaultText: DEFAULT_WIRE_PROFILE,
    meaning:
      "php also speaks PHP GatewayWorker's plaintext wire, to migrate a PHP cluster piece by piece (needs INNER_PLAINTEXT=true). See Migrating from PHP GatewayWorker.",
  },
  {
    name: 'PHP_SECRET_KEY',
    roles: ['register', 'gateway', 'worker'],
    defaultText: 'empty',
    meaning:
      'with WIRE_PROFILE=php: PHP\'s secretKey, sent and compared in clear text exactly as PHP does (no ", \\ or control characters).',
  },
  {
    name: 'REGISTER_LISTEN',
    roles: ['register'],
    defaultText: DEFAULT_REGISTER_LISTEN,
    meaning: 'host:port the register listens on (:0 = any free port).',
  },
  {
    name: 'REGISTER_ADDRESS',
    roles: ['gateway', 'worker'],
    defaultText: DEFAULT_REGISTERS,
    meaning: 'comma-separated host:port list of registers; peers use all of them.',
  },
  {
    name: 'GATEWAY_LISTEN',
    roles: ['gateway'],
    defaultText: DEFAULT_LISTEN,
    meaning:
      "comma-separated client listener URLs: ws://, wss://, text://, frame:// or a custom framing's scheme, e.g. ws://0.0.0.0:7272,text://0.0.0.0:7273. The port is required (0 = any free port); a path (ws://0.0.0.0:7272/chat) restricts upgrades to it. See Client listeners.",
  },
  {
    name: 'GATEWAY_TLS_CERT',
    roles: ['gateway'],
    defaultText: '—',
    meaning:
      'PEM certificate file (a chain is fine, server certificate first) for every wss:// listener; required with one, not read otherwise.',
  },
  {
    name: 'GATEWAY_TLS_KEY',
    roles: ['gateway'],
    defaultText: '—',
    meaning: 'unencrypted PEM private key file of that certificate; required with a wss:// listener.',
  },
  {
    name: 'GATEWAY_LAN_IP',
    roles: ['gateway'],
    defaultText: DEFAULT_LAN_IP,
    meaning: 'IPv4 address workers reach this gateway on; embedded in every client_id. The inner listener binds to it.',
  },
  {
    name: 'GATEWAY_START_PORT',
    roles: ['gateway'],
    defaultText: String(DEFAULT_START_PORT),
    meaning:
      'inner port for workers and SDK clients; with GATEWAY_COUNT=n process i uses GATEWAY_START_PORT + i. 0 = any free port for each process (the register learns the real one).',
  },
  {
    name: 'GATEWAY_COUNT',
    roles: ['gateway'],
    defaultText: String(DEFAULT_PROCESS_COUNT),
    meaning: 'gateway processes on this host (1-64); above 1 the started process supervises that many.',
  },
  {
    name: 'GATEWAY_MAX_MESSAGE_BYTES',
    roles: ['gateway'],
    defaultText: bytes(DEFAULT_MAX_MESSAGE_BYTES),
    meaning:
      'largest client message, on every listener; a larger one closes a WebSocket client with 1009 and ends a raw TCP connection.',
  },
  {
    name: 'GATEWAY_MAX_BUFFERED_BYTES',
    roles: ['gateway'],
    defaultText: bytes(DEFAULT_MAX_BUFFERED_BYTES),
    meaning: 'unsent bytes a client may have queued; past it the client is a slow consumer and is closed with 4008.',
  },
  {
    name: 'GATEWAY_MAX_CONNECTIONS',
    roles: ['gateway'],
    defaultText: `${DEFAULT_MAX_CONNECTIONS} (unlimited)`,
    meaning:
      'client connections one gateway process holds at most, counted from the TCP accept; more are dropped at accept. Unlimited means `ulimit -n` minus a reserve for inner links (10 %, 64 … 1 024; Linux). See Connection limits.',
  },
  {
    name: 'GATEWAY_MAX_CONNECTIONS_PER_IP',
    roles: ['gateway'],
    defaultText: `${DEFAULT_MAX_CONNECTIONS_PER_IP} (unlimited)`,
    meaning:
      'client connections from one remote IP at most (per gateway process), counted from the TCP accept; more are dropped at accept.',
  },
  {
    name: 'GATEWAY_HANDSHAKE_TIMEOUT_MS',
    roles: ['gateway'],
    defaultText: String(DEFAULT_HANDSHAKE_TIMEOUT_MS),
    meaning:
      'time a client connection has from its TCP accept to complete the WebSocket upgrade (TLS included), or on a raw TCP listener to send its first bytes (100 … 600 000); otherwise it is dropped.',
  },
  {
    name: 'GATEWAY_RATE_LIMIT',
    roles: ['gateway'],
    defaultText: `${DEFAULT_MESSAGE_RATE_LIMIT} (off)`,
    meaning: 'messages per second one connection may send, sustained (decimals allowed); over it: 1008.',
  },
  {
    name: 'GATEWAY_RATE_BURST',
    roles: ['gateway'],
    defaultText: 'the rate, rounded up (≥ 1)',
    meaning: 'messages one connection may send back to back before the rate applies.',
  },
  {
    name: 'GATEWAY_PING_INTERVAL',
    roles: ['gateway'],
    defaultText: String(DEFAULT_PING_INTERVAL_SECONDS),
    meaning:
      "heartbeat period *I* in seconds (decimals allowed, at least 0.1); 0 turns the heartbeat off. PHP's default is 0.",
  },
  {
    name: 'GATEWAY_PING_NOT_RESPONSE_LIMIT',
    roles: ['gateway'],
    defaultText: String(DEFAULT_PING_NOT_RESPONSE_LIMIT),
    meaning: '*L*: 0 never disconnects; *L* > 0 closes (4009) a client silent for between *L·I + I/2* and *(L+1)·I*.',
  },
  {
    name: 'GATEWAY_PING_DATA',
    roles: ['gateway'],
    defaultText: 'empty',
    meaning: 'text message sent to silent clients on heartbeat ticks; empty = none (at most 4096 characters, trimmed).',
  },
  {
    name: 'GATEWAY_WS_PING',
    roles: ['gateway'],
    defaultText: String(DEFAULT_WEBSOCKET_PING),
    meaning: 'also send WebSocket ping frames on those ticks (WebSocket listeners only).',
  },
  {
    name: 'GATEWAY_PENDING_EVENTS',
    roles: ['gateway'],
    defaultText: String(DEFAULT_PENDING_EVENTS),
    meaning:
      'client events one gateway process holds in total while no worker can take them; past it the affected client is closed with 1013.',
  },
  {
    name: 'GATEWAY_PENDING_BYTES',
    roles: ['gateway'],
    defaultText: bytes(DEFAULT_PENDING_BYTES),
    meaning: 'the same bound in bytes.',
  },
  {
    name: 'GATEWAY_PENDING_MAX_AGE_MS',
    roles: ['gateway'],
    defaultText: String(DEFAULT_PENDING_MAX_AGE_MS),
    meaning:
      'oldest a held event may get (100 … 86 400 000); a client whose oldest held event is older is closed with 1013 and its held events are dropped.',
  },
  {
    name: 'GATEWAY_WORKER_UNACKED_BYTES',
    roles: ['gateway'],
    defaultText: bytes(DEFAULT_MAX_UNACKED_BYTES_PER_WORKER),
    meaning:
      "unacknowledged event bytes (bodies + 64 each) one worker may have outstanding; past it the worker gets no new clients and its clients' events wait at the gateway.",
  },
  {
    name: 'GATEWAY_MAX_EVENT_DEATHS',
    roles: ['gateway'],
    defaultText: String(DEFAULT_MAX_EVENT_DEATHS),
    meaning:
      'worker deaths a client event may be in flight at before it is dead-lettered (0 … 1000, 0 = no limit): not delivered again, handed once to an @OnDeadLetter() handler, its client closed with 4010. See Poison events.',
  },
  {
    name: 'GATEWAY_ROUTER',
    roles: ['gateway'],
    defaultText: DEFAULT_ROUTER,
    meaning:
      "how a client's first event picks its worker: least-connections, random or latency; always sticky. See Routing strategies.",
  },
  {
    name: 'GATEWAY_SHUTDOWN_TIMEOUT_MS',
    roles: ['gateway'],
    defaultText: String(DEFAULT_SHUTDOWN_TIMEOUT_MS),
    meaning: 'on SIGTERM, time clients have to complete the 1001 close before the rest are cut.',
  },
  {
    name: 'WORKER_NAME',
    roles: ['worker'],
    defaultText: DEFAULT_WORKER_NAME,
    meaning: 'name shown in logs; the worker key is name:pid-n.',
  },
  {
    name: 'WORKER_COUNT',
    roles: ['worker'],
    defaultText: String(DEFAULT_PROCESS_COUNT),
    meaning: 'worker processes on this host (1-64); above 1 the started process supervises that many.',
  },
  {
    name: 'WORKER_DRAIN_TIMEOUT_MS',
    roles: ['worker'],
    defaultText: String(DEFAULT_DRAIN_TIMEOUT_MS),
    meaning:
      'on SIGTERM, how long the worker drains (0 … 3 600 000); events still unfinished then are redelivered to other workers.',
  },
  {
    name: 'WORKER_FAST_PATH',
    roles: ['worker'],
    defaultText: String(DEFAULT_WORKER_FAST_PATH),
    meaning:
      "false: every handler goes through Nest's RPC wrapper, even those without guards, interceptors, pipes or filters.",
  },
  {
    name: 'GATEWAY_TIMEOUT_MS',
    roles: ['worker'],
    defaultText: String(DEFAULT_TIMEOUT_MS),
    meaning: "the worker's GatewayClient: time limit per gateway of a command or query, in ms.",
  },
  {
    name: 'GATEWAY_STRICT',
    roles: ['worker'],
    defaultText: String(DEFAULT_REJECT_ON_GATEWAY_FAILURE),
    meaning: "the worker's GatewayClient: true makes a multi-gateway call reject when one gateway fails (see below).",
  },
  {
    name: 'ADMIN_LISTEN',
    roles: ['register', 'gateway', 'worker'],
    defaultText: '— (off)',
    meaning:
      'host:port of the admin listener: GET /metrics (Prometheus), /health/live, /health/ready. Under a *_COUNT=n supervisor, process i listens on port + i (0 = any free port for each, logged); off or unset = none. No authentication: bind it to loopback or a private network. See Metrics and health.',
  },
  {
    name: HEAP_GROWING_PERCENT_VARIABLE,
    roles: ['register', 'gateway', 'worker'],
    defaultText: String(DEFAULT_HEAP_GROWING_PERCENT),
    meaning:
      "V8's --heap-growing-percent for every role process (0 … 1000; 0 = V8's own heuristic): the old generation may grow to (1 + n/100) times what survived the last full GC before the next one. The default avoids a full GC after nearly every young-generation GC in small, busy heaps, for up to 3x the live heap in garbage; a node --heap-growing-percent flag wins. See Running in production.",
  },
  {
    name: 'GATEWAY_BACKPLANE',
    roles: ['gateway', 'worker'],
    defaultText: '— (off)',
    meaning:
      'the optional Redis backplane: redis://[user:password@]host[:port][/db], rediss://… (TLS), redis+sentinel://host[:port][,…]/<master>[/db] or redis+cluster://host[:port][,…] (rediss+…: TLS). Discovery with leases, targeted sends, session store; needs the ioredis package. See Redis backplane.',
  },
  {
    name: 'GATEWAY_BACKPLANE_PREFIX',
    roles: ['gateway', 'worker'],
    defaultText: DEFAULT_BACKPLANE_PREFIX,
    meaning: 'prefix of every backplane key and channel; lets several clusters share one Redis.',
  },
  {
    name: 'GATEWAY_BACKPLANE_LEASE_MS',
    roles: ['gateway'],
    defaultText: String(DEFAULT_BACKPLANE_LEASE_MS),
    meaning:
      "the gateway's lease (1 000 … 600 000), renewed every third; a gateway that stops renewing is forgotten and its directory entries purged once it expires.",
  },
  {
    name: 'GATEWAY_BACKPLANE_RESYNC_MS',
    roles: ['gateway'],
    defaultText: String(DEFAULT_BACKPLANE_RESYNC_MS),
    meaning:
      "interval of the gateway's safety resync: a full rewrite of its presence-directory entries, deleting those it no longer holds, in case Redis lost writes (a failover); 0 = off, else 10 000 … 86 400 000. See Redis backplane, sizing.",
  },
  {
    name: 'GATEWAY_BACKPLANE_TIMEOUT_MS',
    roles: ['worker'],
    defaultText: String(DEFAULT_BACKPLANE_TIMEOUT_MS),
    meaning:
      'budget of one presence-directory read (1 … 10 000); a read that fails or takes longer sends the call to every gateway.',
  },
  {
    name: 'GATEWAY_BACKPLANE_CACHE',
    roles: ['worker'],
    defaultText: String(DEFAULT_BACKPLANE_CACHE),
    meaning:
      'true: keep a local copy of the directory entries read, invalidated by Redis (CLIENT TRACKING), so repeated sends to a uid or group skip the Redis round trip (two more connections; always off on a Redis Cluster). See Redis backplane.',
  },
  {
    name: 'GATEWAY_BACKPLANE_TLS_CA',
    roles: ['gateway', 'worker'],
    defaultText: '— (Node trust store)',
    meaning:
      "PEM file of the CA certificate(s) that sign your Redis servers' certificates, for a rediss… backplane URL (replaces Node's built-in CAs for it). Unset: Node's trust store, NODE_EXTRA_CA_CERTS included. An error with a plain redis… URL.",
  },
  {
    name: 'GATEWAY_BACKPLANE_TLS_CERT',
    roles: ['gateway', 'worker'],
    defaultText: '— (none)',
    meaning:
      "PEM client certificate file for a rediss… backplane, for a Redis that checks client certificates (redis-server's default tls-auth-clients yes); needs GATEWAY_BACKPLANE_TLS_KEY.",
  },
  {
    name: 'GATEWAY_BACKPLANE_TLS_KEY',
    roles: ['gateway', 'worker'],
    defaultText: '— (none)',
    meaning: 'unencrypted PEM private key file of GATEWAY_BACKPLANE_TLS_CERT.',
  },
  {
    name: 'GATEWAY_BACKPLANE_TLS_SERVERNAME',
    roles: ['gateway', 'worker'],
    defaultText: "— (the URL's host)",
    meaning:
      "host name the Redis servers' certificates are checked against (and sent as SNI) for a rediss… backplane, when they do not name the host of the URL (e.g. a Redis reached by IP address whose certificate names redis.internal). An error with a plain redis… URL.",
  },
  {
    name: 'WORKER_SESSION_STORE',
    roles: ['worker'],
    defaultText: DEFAULT_SESSION_STORE,
    meaning:
      'none, or backplane: sessions of clients with a uid kept in Redis (RedisSessionStore); needs GATEWAY_BACKPLANE.',
  },
  {
    name: 'WORKER_SESSION_TTL_S',
    roles: ['worker'],
    defaultText: String(DEFAULT_SESSION_TTL_SECONDS),
    meaning: 'sliding lifetime of a stored session in seconds (7 days); every load and save restarts it; 0 = none.',
  },
];

/** The variables one role reads, in the README's order. */
export function variablesOf(role: RoleName): EnvironmentVariable[] {
  return ENVIRONMENT_VARIABLES.filter((v) => v.roles.includes(role));
}
