import {
  BackplaneKeys,
  GatewayClientPool,
  resolveGatewayClientOptions,
  type GatewayTransport,
} from 'nest-gateway-worker/internal';
import type { INestMicroservice } from '@nestjs/common';
import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { BackplaneProbe, BackplaneTestController, delta } from './support/backplane-probe';
import { eventually } from './support/eventually';
import { startInProcessWorker } from './support/in-process-worker';
import { RedisClusterSet, RedisSentinelSet, RedisServer, type RedisTls } from './support/redis-server';
import { startGateway, startRegister, startRole, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestPki, type TestCertificate } from './support/test-pki';

/**
 * The Redis backplane over TLS against real redis-servers that accept TLS only (`--port 0 --tls-port …`, client
 * certificates required: redis's default `tls-auth-clients yes`), each under the README's least-privilege ACL user
 * (the default user has a password the backplane is never given): one server (`rediss://`) and a Sentinel-managed
 * primary whose sentinels have their own ACL user (`rediss+sentinel://…?sentinelUsername=…&sentinelPassword=…`). The
 * CA and client certificate are given each documented way: GATEWAY_BACKPLANE_TLS_CA / _CERT / _KEY (gateway
 * processes), NODE_EXTRA_CA_CERTS (one gateway), `backplane.tls` in code (the worker and a GatewayClient). A test
 * CA and certificates are made with openssl in a temporary directory, removed afterwards.
 */

const PASSWORD = 'tls-acl-pw-8d2e71';
const ADMIN_PASSWORD = `admin-${PASSWORD}`;
/** The data nodes' rules, exactly as README (Security) lists them. */
const ACL_RULES =
  '~gw:* &gw:* &__redis__:invalidate +get +set +getex +del +mget +sadd +srem +smembers +sscan +hkeys +hset +hdel ' +
  '+publish +subscribe +info +client|setname +client|id +client|tracking +ping +quit';
/** A sentinel's own ACL user, exactly as README (Security) lists its rules. */
const SENTINEL_USER = 'gwsentinel';
const SENTINEL_PASSWORD = 'tls-sentinel-pw-41c9a0';
const SENTINEL_RULES = '+sentinel|get-master-addr-by-name +sentinel|sentinels +subscribe +ping &+switch-master';
const SENTINEL_ADMIN_PASSWORD = `admin-${SENTINEL_PASSWORD}`;
/** What a Cluster adds to the data nodes' rules (README: Security). */
const CLUSTER_RULES = '+cluster|info +cluster|slots +asking';
const LEASE_MS = 3_000;
/** The directory read budget is not under test here, and the test machine is shared. */
const READ_BUDGET_MS = 1_000;
const SENDS = 200;
const keys = new BackplaneKeys('gw');

interface Gateway {
  proc: RoleProcess;
  url: string;
  inner: string;
}

/** The test PKI: the CA Redis trusts, its server and client certificates, and a CA nobody trusts. */
interface Pki {
  files: TestPki;
  ca: TestCertificate;
  server: TestCertificate;
  client: TestCertificate;
  rogueCa: TestCertificate;
  /** A client certificate issued by the rogue CA (Redis does not trust it). */
  rogueClient: TestCertificate;
  redisTls: RedisTls;
}

/** The three gateways listed and in sync for the worker's and the GatewayClient's discovery. */
async function allInSync(
  gateways: Gateway[],
  sdk: GatewayClientPool,
  worker: { transport: GatewayTransport },
): Promise<void> {
  const inners = gateways.map((g) => g.inner);
  await eventually(
    () => inners.every((a) => sdk.backplane!.watch.isSynced(a) && worker.transport.backplane!.watch.isSynced(a)),
    (ok) => ok,
    'the three gateways listed and in sync for the worker and the GatewayClient',
    20_000,
  );
}

/**
 * SENDS sendToUid to `uid` (bound by `client` on gateways[holder]): all delivered in order, the two other gateways get
 * none of them (command counters), no fallback to the mesh; no gateway logged the password.
 */
async function sendsReachHolderOnly(
  gateways: Gateway[],
  sdk: GatewayClientPool,
  probe: BackplaneProbe,
  client: Awaited<ReturnType<BackplaneProbe['open']>>['client'],
  uid: string,
  holder: number,
): Promise<void> {
  const before = await probe.counters();
  const start = client.received.length;
  for (let i = 0; i < SENDS; i++) await sdk.client.sendToUid(uid, `s${i}`);
  await client.waitForMessages(start + SENDS, 15_000);
  expect(client.received.slice(start).map((m) => m.data.toString())).toEqual(
    Array.from({ length: SENDS }, (_, i) => `s${i}`),
  );
  expect(delta(await probe.counters(), before, 'uid')).toEqual(
    Object.fromEntries(gateways.map((g, i) => [g.inner, i === holder ? SENDS : 0])),
  );
  expect(sdk.backplane!.stats.fallbacks).toBe(0);
  for (const proc of gateways.map((g) => g.proc)) expect(proc.output).not.toContain(PASSWORD);
}

function makePki(): Pki {
  const files = TestPki.create('backplane-tls');
  const ca = files.ca('redis-ca');
  const server = files.issue(ca, 'redis-server');
  const client = files.issue(ca, 'gateway-client');
  const rogueCa = files.ca('rogue-ca');
  const rogueClient = files.issue(rogueCa, 'rogue-client');
  return {
    files,
    ca,
    server,
    client,
    rogueCa,
    rogueClient,
    redisTls: { ca: ca.cert, cert: server.cert, key: server.key },
  };
}

/** The gateway variables that give the backplane the test CA and the client certificate. */
function tlsEnv(pki: Pki): Record<string, string> {
  return {
    GATEWAY_BACKPLANE_TLS_CA: pki.ca.cert,
    GATEWAY_BACKPLANE_TLS_CERT: pki.client.cert,
    GATEWAY_BACKPLANE_TLS_KEY: pki.client.key,
  };
}

/** `backplane.tls` in code: the same CA and client certificate as PEM Buffers. */
function tlsOption(pki: Pki): { ca: Buffer; cert: Buffer; key: Buffer } {
  return { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) };
}

/**
 * What a gateway without a client certificate logs on Sentinel or a Cluster (`kind`: what its handshake of its own
 * reached): ioredis says only "Connection is closed."; the probe's cause, by OpenSSL's reason, with what to set.
 */
function noClientCertificateLine(scheme: 'sentinel' | 'cluster', kind: 'sentinel' | 'node'): RegExp {
  return new RegExp(
    `backplane Redis rediss\\+${scheme}:\\/\\/gwapp:\\*\\*\\*@.*: TLS to ${kind} 127\\.0\\.0\\.1:\\d+ fails: ` +
      'tlsv13 alert certificate required \\(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: this Redis checks client ' +
      'certificates, tls-auth-clients yes being its default: give one in GATEWAY_BACKPLANE_TLS_CERT / ' +
      'GATEWAY_BACKPLANE_TLS_KEY or backplane\\.tls\\.cert / key, or set tls-auth-clients no or optional on the server\\)',
  );
}

/** The gateway variables of a client certificate issued by a CA the server does not trust (the server's CA trusted). */
function untrustedClientEnv(pki: Pki): Record<string, string> {
  return {
    GATEWAY_BACKPLANE_TLS_CA: pki.ca.cert,
    GATEWAY_BACKPLANE_TLS_CERT: pki.rogueClient.cert,
    GATEWAY_BACKPLANE_TLS_KEY: pki.rogueClient.key,
  };
}

/** The hint for an alert about a client certificate the server does not trust. */
const UNTRUSTED_CLIENT_CERTIFICATE_HINT =
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: this Redis does not accept the client certificate configured: its ' +
  'tls-ca-cert-file (or tls-ca-cert-dir) must hold the CA that issued GATEWAY_BACKPLANE_TLS_CERT / backplane.tls.cert';

/**
 * What a gateway on one TLS 1.3 server logs when ioredis sees only a reset: its handshake of its own gets the server's
 * alert (`reason`, OpenSSL's words) and explains it (`hint`, the start of the text in parentheses).
 */
function serverAlertLine(reason: string, hint: string): RegExp {
  const quoted = (t: string) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(
    `backplane Redis rediss:\\/\\/gwapp:\\*\\*\\*@127\\.0\\.0\\.1:\\d+\\/?: TLS to server 127\\.0\\.0\\.1:\\d+ fails: ` +
      `${quoted(reason)} \\(${quoted(hint)}`,
  );
}

/** A gateway process that must start (the backplane does not hold it up) and tell why Redis refused it. */
function startFailingGateway(env: Record<string, string>): RoleProcess {
  return startRole('gateway', {
    SECRET_KEY: TEST_SECRET,
    GATEWAY_LISTEN: 'ws://127.0.0.1:0',
    GATEWAY_START_PORT: '0',
    GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS),
    ...env,
  });
}

describe('Redis backplane over TLS: rediss:// with an ACL user, client certificates required', () => {
  let pki: Pki;
  let redis: RedisServer;
  let admin: Redis;
  let register: string;
  const gateways: Gateway[] = [];
  let worker: { app: INestMicroservice; transport: GatewayTransport };
  let sdk: GatewayClientPool;
  let untrusting: GatewayClientPool | undefined;
  const probe = new BackplaneProbe(() => sdk);
  let url: string;

  beforeAll(async () => {
    pki = makePki();
    redis = await RedisServer.start({
      tls: pki.redisTls,
      cliAuth: { user: 'admin', password: ADMIN_PASSWORD },
      args: [
        // Each directive's words as separate arguments (redis-server joins them up to the next --option).
        ...['--user', 'default', 'off'],
        ...['--user', 'gwapp', 'on', `>${PASSWORD}`, ...ACL_RULES.split(' ')],
        ...['--user', 'admin', 'on', `>${ADMIN_PASSWORD}`, '~*', '&*', '+@all'],
      ],
    });
    expect(redis.url).toBe(`rediss://127.0.0.1:${redis.port}`);
    url = `rediss://gwapp:${PASSWORD}@127.0.0.1:${redis.port}`;
    admin = new Redis({
      host: '127.0.0.1',
      port: redis.port,
      username: 'admin',
      password: ADMIN_PASSWORD,
      tls: tlsOption(pki),
      maxRetriesPerRequest: 1,
    });
    // A register too (a cluster migrating to the backplane): the GatewayClient that cannot use Redis still finds
    // the gateways, and its calls go through the mesh.
    register = (await startRegister()).address;
    const env = { GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS) };
    gateways.push(await startGateway(register, { ...env, ...tlsEnv(pki) }));
    gateways.push(await startGateway(register, { ...env, ...tlsEnv(pki) }));
    // The CA through Node's own variable instead of ours (only the client certificate through ours).
    gateways.push(
      await startGateway(register, {
        ...env,
        NODE_EXTRA_CA_CERTS: pki.ca.cert,
        GATEWAY_BACKPLANE_TLS_CERT: pki.client.cert,
        GATEWAY_BACKPLANE_TLS_KEY: pki.client.key,
      }),
    );
    worker = await startInProcessWorker(
      [BackplaneTestController],
      { secret: TEST_SECRET, backplane: { url, tls: tlsOption(pki), timeoutMs: READ_BUDGET_MS } },
      gateways.map((g) => g.inner),
    );
    sdk = new GatewayClientPool(
      resolveGatewayClientOptions({
        secret: TEST_SECRET,
        backplane: { url, tls: tlsOption(pki), timeoutMs: READ_BUDGET_MS },
      }),
    );
  }, 90_000);

  afterAll(async () => {
    probe.closeAll();
    await untrusting?.onModuleDestroy();
    await sdk?.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    admin?.disconnect();
    await redis?.stop();
    pki?.files.remove();
  });

  it('discovers every gateway, writes the directory and targets sendToUid to its holder only, over TLS', async () => {
    await allInSync(gateways, sdk, worker);
    // Every lease is in Redis: each gateway wrote it over TLS (plain TCP is off: --port 0).
    expect((await admin.smembers(keys.gateways)).length).toBe(3);
    const b = gateways[1];
    const { client } = await probe.open(b.url);
    await probe.ask(client, { type: 'bind', uid: 'tls-u' }, 'bound');
    await eventually(
      () => admin.hkeys(keys.uid('tls-u')),
      (ids) => ids.length === 1 && ids[0].startsWith(`${b.inner}/`),
      'tls-u in the directory, on b',
    );
    expect(await sdk.client.isUidOnline('tls-u')).toBe(true);
    await sendsReachHolderOnly(gateways, sdk, probe, client, 'tls-u', 1);
    // The connections are the ACL user's, over TLS, with the client certificate (CLIENT LIST: the backplane's names).
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    const mine = list.split('\n').filter((l) => / user=gwapp /.test(l));
    expect(mine.length).toBeGreaterThanOrEqual(3 + 2);
    for (const proc of gateways.map((g) => g.proc)) expect(proc.output).not.toContain(PASSWORD);
  });

  it('a wrong password, an untrusted or missing certificate: the gateway starts, says why, shows no password', async () => {
    const env = { GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS) };
    const wrongPassword = startFailingGateway({
      ...tlsEnv(pki),
      GATEWAY_BACKPLANE: `rediss://gwapp:wrong-${PASSWORD}@127.0.0.1:${redis.port}`,
    });
    // No CA given at all: Node's built-in CAs do not know the test CA.
    const noCa = startFailingGateway({
      ...env,
      GATEWAY_BACKPLANE_TLS_CERT: pki.client.cert,
      GATEWAY_BACKPLANE_TLS_KEY: pki.client.key,
    });
    const rogueCa = startFailingGateway({ ...env, ...tlsEnv(pki), GATEWAY_BACKPLANE_TLS_CA: pki.rogueCa.cert });
    // The CA, but no client certificate: redis-server resets the connection.
    const noClientCert = startFailingGateway({ ...env, GATEWAY_BACKPLANE_TLS_CA: pki.ca.cert });
    // A client certificate of a CA the server does not trust: under TLS 1.3 ioredis sees only a reset too.
    const rogueClient = startFailingGateway({ ...env, ...untrustedClientEnv(pki) });
    await wrongPassword.waitFor(/WRONGPASS|invalid username-password/);
    for (const proc of [noCa, rogueCa])
      await proc.waitFor(
        /backplane Redis rediss:\/\/gwapp:\*\*\*@127\.0\.0\.1:\d+\/?: self[- ]signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN: the Redis server's TLS certificate is not trusted; give the CA that signed it in GATEWAY_BACKPLANE_TLS_CA/,
      );
    await noClientCert.waitFor(
      /backplane Redis rediss:\/\/gwapp:\*\*\*@\S+: .*ECONNRESET.*\(a TLS connection reset: if this Redis checks client certificates.*GATEWAY_BACKPLANE_TLS_CERT/,
    );
    // What the reset hides, from a handshake of the gateway's own.
    await noClientCert.waitFor(
      serverAlertLine(
        'tlsv13 alert certificate required',
        'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: this Redis checks client certificates',
      ),
    );
    await rogueClient.waitFor(
      /ECONNRESET.*\(a TLS connection reset: if this Redis checks client certificates, it may not accept the one configured/,
    );
    await rogueClient.waitFor(serverAlertLine('tlsv1 alert unknown ca', UNTRUSTED_CLIENT_CERTIFICATE_HINT));
    const all = [wrongPassword, noCa, rogueCa, noClientCert, rogueClient];
    for (const proc of all) await proc.waitFor(/Gateway ready/);
    for (const proc of all) expect(proc.output).not.toContain(PASSWORD);
    // None of them is in Redis (the leases are still the three good gateways').
    expect((await admin.smembers(keys.gateways)).length).toBe(3);
    for (const proc of all) await proc.stop();
  });

  it('a GatewayClient that does not trust the server: its calls go through the mesh, counted, and are delivered', async () => {
    untrusting = new GatewayClientPool(
      resolveGatewayClientOptions({
        secret: TEST_SECRET,
        registers: register,
        backplane: {
          url,
          tls: { ...tlsOption(pki), ca: readFileSync(pki.rogueCa.cert) },
          timeoutMs: READ_BUDGET_MS,
        },
      }),
    );
    const [a, b, c] = gateways;
    const { client } = await probe.open(a.url);
    await probe.ask(client, { type: 'bind', uid: 'tls-mesh' }, 'bound');
    await eventually(
      () => untrusting!.client.getAllClientCount(),
      (n) => n >= 2,
      'the register lists the gateways to the untrusting GatewayClient',
    );
    const before = await probe.counters();
    const start = client.received.length;
    for (let i = 0; i < 10; i++) await untrusting.client.sendToUid('tls-mesh', `m${i}`);
    await client.waitForMessages(start + 10, 15_000);
    expect(client.received.slice(start).map((m) => m.data.toString())).toEqual(
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
    // The full mesh: every gateway got every send; every read failed and was counted.
    expect(delta(await probe.counters(), before, 'uid')).toEqual({ [a.inner]: 10, [b.inner]: 10, [c.inner]: 10 });
    expect(untrusting.backplane!.stats.fallbacks).toBe(10);
    expect(untrusting.backplane!.watch.isSynced(a.inner)).toBe(false);
  });
});

describe('Redis backplane on Sentinel over TLS: sentinels with their own ACL user, data nodes with the backplane user', () => {
  let pki: Pki;
  let set: RedisSentinelSet;
  let primary: Redis;
  const gateways: Gateway[] = [];
  let worker: { app: INestMicroservice; transport: GatewayTransport };
  let sdk: GatewayClientPool;
  const probe = new BackplaneProbe(() => sdk);
  let url: string;
  const hosts = () => set.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');

  beforeAll(async () => {
    pki = makePki();
    set = await RedisSentinelSet.start({
      replicas: 1,
      sentinels: 3,
      tls: pki.redisTls,
      // The default user keeps a password (replication and the sentinels use it), never given to the backplane.
      dataPassword: ADMIN_PASSWORD,
      dataArgs: ['--user', 'gwapp', 'on', `>${PASSWORD}`, ...ACL_RULES.split(' ')],
      sentinelPassword: SENTINEL_ADMIN_PASSWORD,
      sentinelConfig: [`user ${SENTINEL_USER} on >${SENTINEL_PASSWORD} ${SENTINEL_RULES}`],
    });
    expect(set.url).toMatch(/^rediss\+sentinel:\/\//);
    url =
      `rediss+sentinel://gwapp:${PASSWORD}@${hosts()}/${set.name}` +
      `?sentinelUsername=${SENTINEL_USER}&sentinelPassword=${SENTINEL_PASSWORD}`;
    primary = new Redis({
      host: '127.0.0.1',
      port: set.primary.port,
      password: ADMIN_PASSWORD,
      tls: tlsOption(pki),
      maxRetriesPerRequest: 1,
    });
    // It is SIGKILLed by the failover test.
    primary.on('error', () => undefined);
    const env = { GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS), ...tlsEnv(pki) };
    for (let i = 0; i < 3; i++) gateways.push(await startGateway('', env));
    worker = await startInProcessWorker(
      [BackplaneTestController],
      { secret: TEST_SECRET, backplane: { url, tls: tlsOption(pki), timeoutMs: READ_BUDGET_MS } },
      gateways.map((g) => g.inner),
    );
    // The sentinel option in code, with tls: true and the same TLS files.
    sdk = new GatewayClientPool(
      resolveGatewayClientOptions({
        secret: TEST_SECRET,
        backplane: {
          sentinel: {
            sentinels: hosts(),
            name: set.name,
            username: 'gwapp',
            password: PASSWORD,
            sentinelUsername: SENTINEL_USER,
            sentinelPassword: SENTINEL_PASSWORD,
            tls: true,
          },
          tls: tlsOption(pki),
          timeoutMs: READ_BUDGET_MS,
        },
      }),
    );
  }, 120_000);

  afterAll(async () => {
    probe.closeAll();
    await sdk?.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    primary?.disconnect();
    await set?.stop();
    pki?.files.remove();
  });

  it('discovers, writes the directory on the primary and targets sendToUid to its holder only', async () => {
    await allInSync(gateways, sdk, worker);
    expect((await primary.smembers(keys.gateways)).length).toBe(3);
    const c = gateways[2];
    const { client } = await probe.open(c.url);
    await probe.ask(client, { type: 'bind', uid: 'tls-s' }, 'bound');
    await eventually(
      () => primary.hkeys(keys.uid('tls-s')),
      (ids) => ids.length === 1 && ids[0].startsWith(`${c.inner}/`),
      'tls-s in the directory, on c',
    );
    await sendsReachHolderOnly(gateways, sdk, probe, client, 'tls-s', 2);
    // The sentinels were asked as the sentinel user, the data nodes used as the backplane user.
    const sentinelClients = await set.sentinels[0].cli('CLIENT', 'LIST');
    expect(sentinelClients).toMatch(new RegExp(` user=${SENTINEL_USER} `));
    expect(await set.primary.cli('CLIENT', 'LIST')).toMatch(/ user=gwapp /);
    for (const proc of gateways.map((g) => g.proc)) {
      expect(proc.output).not.toContain(PASSWORD);
      expect(proc.output).not.toContain(SENTINEL_PASSWORD);
    }
  });

  it('follows a failover under the ACL users over TLS (+switch-master as the sentinel user): targeting resumes', async () => {
    const [a, b, c] = gateways;
    const old = set.primary.port;
    await set.primary.kill();
    const promoted = await set.waitFailover(old);
    const next = new Redis({
      host: '127.0.0.1',
      port: promoted,
      password: ADMIN_PASSWORD,
      tls: tlsOption(pki),
      maxRetriesPerRequest: 1,
    });
    next.on('error', () => undefined);
    primary.disconnect();
    primary = next;
    // Every gateway rewrote its entries on the promoted replica and says it is in sync there.
    await eventually(
      () => next.hkeys(keys.uid('tls-s')),
      (ids) => ids.length === 1 && ids[0].startsWith(`${c.inner}/`),
      'tls-s in the directory of the promoted replica',
      30_000,
    );
    await eventually(
      () => gateways.every((g) => sdk.backplane!.watch.isSynced(g.inner)),
      (ok) => ok,
      'the three gateways in sync again for the GatewayClient',
      30_000,
    );
    const client = probe.clients[0];
    const start = client.received.length;
    for (let i = 0; i < 50; i++) await sdk.client.sendToUid('tls-s', `f${i}`);
    await client.waitForMessages(start + 50, 15_000);
    expect(client.received.slice(start).map((m) => m.data.toString())).toEqual(
      Array.from({ length: 50 }, (_, i) => `f${i}`),
    );
    // Targeting resumes on the promoted replica (the readers' connections follow the sentinels too).
    await eventually(
      async () => {
        const batch = await probe.counters();
        for (let i = 0; i < 10; i++) await sdk.client.sendToUid('tls-s', `r${i}`);
        return delta(await probe.counters(), batch, 'uid');
      },
      (d) => d[a.inner] === 0 && d[b.inner] === 0 && d[c.inner] === 10,
      'targeted sends after the failover',
      20_000,
      200,
    );
  }, 90_000);

  it('a wrong sentinel or data password, an untrusted or missing certificate: the gateway starts, says why, shows no password', async () => {
    const base = `rediss+sentinel://gwapp:${PASSWORD}@${hosts()}/${set.name}`;
    const wrongSentinel = startFailingGateway({
      ...tlsEnv(pki),
      GATEWAY_BACKPLANE: `${base}?sentinelUsername=${SENTINEL_USER}&sentinelPassword=wrong-${SENTINEL_PASSWORD}`,
    });
    const wrongData = startFailingGateway({
      ...tlsEnv(pki),
      GATEWAY_BACKPLANE: url.replace(`gwapp:${PASSWORD}@`, `gwapp:wrong-${PASSWORD}@`),
    });
    const rogueCa = startFailingGateway({
      ...tlsEnv(pki),
      GATEWAY_BACKPLANE: url,
      GATEWAY_BACKPLANE_TLS_CA: pki.rogueCa.cert,
    });
    // The CA, but no client certificate: the sentinels (and the data nodes) refuse the handshake.
    const noClientCert = startFailingGateway({ GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_TLS_CA: pki.ca.cert });
    await wrongSentinel.waitFor(
      /backplane Redis rediss\+sentinel:\/\/gwapp:\*\*\*@.*sentinelPassword=\*\*\*.*(WRONGPASS|invalid username-password)/,
    );
    await wrongData.waitFor(
      /backplane Redis rediss\+sentinel:\/\/gwapp:\*\*\*@.*(WRONGPASS|invalid username-password)/,
    );
    await rogueCa.waitFor(
      /backplane Redis rediss\+sentinel:.*: TLS to sentinel 127\.0\.0\.1:\d+ fails: self[- ]signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN: the Redis server's TLS certificate is not trusted/,
    );
    await noClientCert.waitFor(noClientCertificateLine('sentinel', 'sentinel'));
    const all = [wrongSentinel, wrongData, rogueCa, noClientCert];
    const failingInners: string[] = [];
    for (const proc of all) failingInners.push((await proc.waitFor(/Gateway ready: .*, inner (\S+)/))[1]);
    for (const proc of all) {
      expect(proc.output).not.toContain(PASSWORD);
      expect(proc.output).not.toContain(SENTINEL_PASSWORD);
    }
    // None of them is listed in Redis.
    const listed = await primary.smembers(keys.gateways);
    expect(listed.filter((id) => failingInners.some((inner) => id.startsWith(`${inner}/`)))).toEqual([]);
    expect(listed.length).toBeGreaterThanOrEqual(3);
    for (const proc of all) await proc.stop();
  });
});

describe('Redis backplane on a Redis Cluster over TLS (rediss+cluster://), with the ACL user', () => {
  let pki: Pki;
  let cluster: RedisClusterSet;
  const gateways: Gateway[] = [];
  let worker: { app: INestMicroservice; transport: GatewayTransport };
  let sdk: GatewayClientPool;
  const probe = new BackplaneProbe(() => sdk);
  let url: string;
  const hosts = () => cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');

  beforeAll(async () => {
    pki = makePki();
    cluster = await RedisClusterSet.start({
      primaries: 3,
      tls: pki.redisTls,
      cliAuth: { user: 'admin', password: ADMIN_PASSWORD },
      args: [
        ...['--user', 'default', 'off'],
        ...['--user', 'gwapp', 'on', `>${PASSWORD}`, ...ACL_RULES.split(' '), ...CLUSTER_RULES.split(' ')],
        ...['--user', 'admin', 'on', `>${ADMIN_PASSWORD}`, '~*', '&*', '+@all'],
      ],
    });
    expect(cluster.url).toMatch(/^rediss\+cluster:\/\//);
    url = `rediss+cluster://gwapp:${PASSWORD}@${hosts()}`;
    const env = { GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS), ...tlsEnv(pki) };
    for (let i = 0; i < 3; i++) gateways.push(await startGateway('', env));
    worker = await startInProcessWorker(
      [BackplaneTestController],
      { secret: TEST_SECRET, backplane: { url, tls: tlsOption(pki), timeoutMs: READ_BUDGET_MS } },
      gateways.map((g) => g.inner),
    );
    // The cluster option in code, with tls: true and the same TLS files.
    sdk = new GatewayClientPool(
      resolveGatewayClientOptions({
        secret: TEST_SECRET,
        backplane: {
          cluster: { nodes: hosts(), username: 'gwapp', password: PASSWORD, tls: true },
          tls: tlsOption(pki),
          timeoutMs: READ_BUDGET_MS,
        },
      }),
    );
  }, 120_000);

  afterAll(async () => {
    probe.closeAll();
    await sdk?.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    await cluster?.stop();
    pki?.files.remove();
  });

  it('discovers, writes the directory on the node of the uid and targets sendToUid to its holder only', async () => {
    await allInSync(gateways, sdk, worker);
    const at = async (key: string) => cluster.server(await cluster.portOf(key));
    expect((await (await at(keys.gateways)).cli('SMEMBERS', keys.gateways)).trim().split('\n').length).toBe(3);
    const a = gateways[0];
    const { client } = await probe.open(a.url);
    await probe.ask(client, { type: 'bind', uid: 'tls-c' }, 'bound');
    const node = await at(keys.uid('tls-c'));
    await eventually(
      () => node.cli('HKEYS', keys.uid('tls-c')),
      (out) => out.trim().startsWith(`${a.inner}/`),
      'tls-c in the directory, on a',
    );
    await sendsReachHolderOnly(gateways, sdk, probe, client, 'tls-c', 0);
    expect(await node.cli('CLIENT', 'LIST')).toMatch(/ user=gwapp /);
    for (const proc of gateways.map((g) => g.proc)) expect(proc.output).not.toContain(PASSWORD);
  });

  it('a wrong password, an untrusted or missing certificate: the gateway starts, says why, shows no password', async () => {
    const wrongPassword = startFailingGateway({
      ...tlsEnv(pki),
      GATEWAY_BACKPLANE: url.replace(`gwapp:${PASSWORD}@`, `gwapp:wrong-${PASSWORD}@`),
    });
    const rogueCa = startFailingGateway({
      ...tlsEnv(pki),
      GATEWAY_BACKPLANE: url,
      GATEWAY_BACKPLANE_TLS_CA: pki.rogueCa.cert,
    });
    // The CA, but no client certificate: every node refuses the handshake.
    const noClientCert = startFailingGateway({ GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_TLS_CA: pki.ca.cert });
    await wrongPassword.waitFor(
      /backplane Redis rediss\+cluster:\/\/gwapp:\*\*\*@.*(WRONGPASS|invalid username-password)/,
    );
    await rogueCa.waitFor(
      /backplane Redis rediss\+cluster:.*: TLS to node 127\.0\.0\.1:\d+ fails: .*SELF_SIGNED_CERT_IN_CHAIN: the Redis server's TLS certificate is not trusted/,
    );
    await noClientCert.waitFor(noClientCertificateLine('cluster', 'node'));
    const all = [wrongPassword, rogueCa, noClientCert];
    for (const proc of all) await proc.waitFor(/Gateway ready/);
    for (const proc of all) expect(proc.output).not.toContain(PASSWORD);
    for (const proc of all) await proc.stop();
  });
});

describe('Redis backplane over TLS to a server whose certificate names another host (GATEWAY_BACKPLANE_TLS_SERVERNAME, backplane.tls.servername)', () => {
  /** The only name in the server's certificate; the backplane connects to 127.0.0.1 (nothing resolves this name). */
  const SERVER_NAME = 'redis.backplane.test';
  let pki: Pki;
  let redis: RedisServer;
  let admin: Redis;
  let url: string;
  const gateways: Gateway[] = [];
  const inners = () => gateways.map((g) => g.inner);
  let worker: { app: INestMicroservice; transport: GatewayTransport };
  let sdk: GatewayClientPool;
  const probe = new BackplaneProbe(() => sdk);
  /** The test CA and client certificate, and the name to check the server's certificate against. */
  const named = () => ({ ...tlsOption(pki), servername: SERVER_NAME });

  beforeAll(async () => {
    pki = makePki();
    const server = pki.files.issue(pki.ca, 'redis-named', `DNS:${SERVER_NAME}`);
    redis = await RedisServer.start({
      tls: { ca: pki.ca.cert, cert: server.cert, key: server.key },
      cliAuth: { user: 'admin', password: ADMIN_PASSWORD },
      args: [
        ...['--user', 'default', 'off'],
        ...['--user', 'gwapp', 'on', `>${PASSWORD}`, ...ACL_RULES.split(' ')],
        ...['--user', 'admin', 'on', `>${ADMIN_PASSWORD}`, '~*', '&*', '+@all'],
      ],
    });
    url = `rediss://gwapp:${PASSWORD}@127.0.0.1:${redis.port}`;
    admin = new Redis({
      host: '127.0.0.1',
      port: redis.port,
      username: 'admin',
      password: ADMIN_PASSWORD,
      tls: named(),
      maxRetriesPerRequest: 1,
    });
    // The gateways are processes given the name by GATEWAY_BACKPLANE_TLS_SERVERNAME; the worker and the
    // GatewayClient (in this process) by backplane.tls.servername.
    for (let i = 0; i < 2; i++) {
      gateways.push(
        await startGateway('', {
          ...tlsEnv(pki),
          GATEWAY_BACKPLANE: url,
          GATEWAY_BACKPLANE_TLS_SERVERNAME: SERVER_NAME,
          GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS),
        }),
      );
    }
    worker = await startInProcessWorker(
      [BackplaneTestController],
      { secret: TEST_SECRET, backplane: { url, tls: named(), timeoutMs: READ_BUDGET_MS } },
      inners(),
    );
    sdk = new GatewayClientPool(
      resolveGatewayClientOptions({ secret: TEST_SECRET, backplane: { url, tls: named(), timeoutMs: READ_BUDGET_MS } }),
    );
  }, 90_000);

  afterAll(async () => {
    probe.closeAll();
    await sdk?.onModuleDestroy();
    await worker?.app.close();
    await stopAll();
    admin?.disconnect();
    await redis?.stop();
    pki?.files.remove();
  });

  it('without servername the gateway starts and says the certificate does not name the host, without the password', async () => {
    const unnamed = startFailingGateway({ ...tlsEnv(pki), GATEWAY_BACKPLANE: url });
    await unnamed.waitFor(
      /backplane Redis rediss:\/\/gwapp:\*\*\*@127\.0\.0\.1:\d+\/?: .*\(ERR_TLS_CERT_ALTNAME_INVALID: the Redis server's TLS certificate does not name the host connected to \(127\.0\.0\.1\); it names DNS:redis\.backplane\.test: connect by a name it carries, or set GATEWAY_BACKPLANE_TLS_SERVERNAME or backplane\.tls\.servername to one\)/,
    );
    const inner = (await unnamed.waitFor(/Gateway ready: .*, inner (\S+)/))[1];
    expect(unnamed.output).not.toContain(PASSWORD);
    expect((await admin.smembers(keys.gateways)).filter((id) => id.startsWith(`${inner}/`))).toEqual([]);
    await unnamed.stop();
  });

  it('with servername: the gateways announce and are in sync, and sendToUid reaches the holder only', async () => {
    await eventually(
      () => inners().every((a) => sdk.backplane!.watch.isSynced(a) && worker.transport.backplane!.watch.isSynced(a)),
      (ok) => ok,
      'both gateways listed and in sync for the worker and the GatewayClient',
      20_000,
    );
    const [a, b] = inners();
    const { client } = await probe.open(gateways[1].url);
    await probe.ask(client, { type: 'bind', uid: 'named-u' }, 'bound');
    await eventually(
      () => admin.hkeys(keys.uid('named-u')),
      (ids) => ids.length === 1 && ids[0].startsWith(`${b}/`),
      'named-u in the directory, on the second gateway',
    );
    const before = await probe.counters();
    const start = client.received.length;
    for (let i = 0; i < SENDS; i++) await sdk.client.sendToUid('named-u', `n${i}`);
    await client.waitForMessages(start + SENDS, 15_000);
    expect(client.received.slice(start).map((m) => m.data.toString())).toEqual(
      Array.from({ length: SENDS }, (_, i) => `n${i}`),
    );
    expect(delta(await probe.counters(), before, 'uid')).toEqual({ [a]: 0, [b]: SENDS });
    expect(sdk.backplane!.stats.fallbacks).toBe(0);
    for (const g of gateways) {
      expect(g.proc.output).toMatch(/announced on the backplane as /);
      expect(g.proc.output).not.toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|renewing the lease failed/);
    }
  });
});

describe('Redis backplane over TLS 1.2 (tls-protocols "TLSv1.2"): what a missing or untrusted client certificate logs', () => {
  let pki: Pki;
  let redis: RedisServer;

  beforeAll(async () => {
    pki = makePki();
    redis = await RedisServer.start({
      tls: pki.redisTls,
      cliAuth: { password: PASSWORD },
      args: ['--tls-protocols', 'TLSv1.2', '--requirepass', PASSWORD],
    });
  }, 30_000);

  afterAll(async () => {
    await stopAll();
    await redis?.stop();
    pki?.files.remove();
  });

  it('a gateway with a good certificate announces; without one, or with an untrusted one, it starts and says why', async () => {
    const url = `rediss://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const env = { GATEWAY_BACKPLANE: url, GATEWAY_BACKPLANE_LEASE_MS: String(LEASE_MS) };
    const good = await startGateway('', { ...env, ...tlsEnv(pki) });
    await good.proc.waitFor(/announced on the backplane as/);
    const noClientCert = startFailingGateway({ ...env, GATEWAY_BACKPLANE_TLS_CA: pki.ca.cert });
    const rogueClient = startFailingGateway({ ...env, ...untrustedClientEnv(pki) });
    // TLS 1.2 servers say it in the handshake (no reset to explain): ioredis's own error carries the alert.
    await noClientCert.waitFor(
      /backplane Redis rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?: sslv3 alert handshake failure \(ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: this Redis refused the TLS handshake; a TLS 1\.2 server does so when it checks client certificates, tls-auth-clients yes being its default, and gets none: give one in GATEWAY_BACKPLANE_TLS_CERT/,
    );
    await rogueClient.waitFor(
      new RegExp(
        `backplane Redis rediss:\\/\\/:\\*\\*\\*@127\\.0\\.0\\.1:\\d+\\/?: tlsv1 alert unknown ca \\(` +
          UNTRUSTED_CLIENT_CERTIFICATE_HINT.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'),
      ),
    );
    for (const proc of [noClientCert, rogueClient]) await proc.waitFor(/Gateway ready/);
    for (const proc of [good.proc, noClientCert, rogueClient]) expect(proc.output).not.toContain(PASSWORD);
  });
});
