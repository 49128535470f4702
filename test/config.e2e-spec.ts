import { eventually, exitWithin } from './support/eventually';
import { exampleWorkerApi, waitUntilLinked } from './support/example-worker-api';
import { startRole, stopAll, TEST_SECRET, type Role, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * Configuration from the environment, checked on the real processes: a bad variable stops the process with
 * status 1 and a line naming the variable; plaintext inner links work only when chosen on every side.
 */

/** A too-short secret; it must never be echoed back in the error. */
const SHORT_SECRET = 'short-Qx7z';

/** What each role needs to start apart from the variable under test (ephemeral ports everywhere). */
const BASE: Record<Role, Record<string, string>> = {
  register: { SECRET_KEY: TEST_SECRET, REGISTER_LISTEN: '127.0.0.1:0' },
  gateway: {
    SECRET_KEY: TEST_SECRET,
    REGISTER_ADDRESS: '127.0.0.1:9',
    GATEWAY_LISTEN: 'ws://127.0.0.1:0',
    GATEWAY_START_PORT: '0',
  },
  worker: { SECRET_KEY: TEST_SECRET, REGISTER_ADDRESS: '127.0.0.1:9' },
};

interface BadCase {
  name: string;
  role: Role;
  /** Merged over BASE[role]; a value of undefined removes the variable. */
  env: Record<string, string | undefined>;
  /** The line the process must print. */
  expected: RegExp;
  /** Strings that must not appear anywhere in the output. */
  secretStrings?: string[];
}

const BAD_CASES: BadCase[] = [
  ...(['register', 'gateway', 'worker'] as Role[]).map((role) => ({
    name: `${role}: SECRET_KEY missing`,
    role,
    env: { SECRET_KEY: undefined },
    expected: /Configuration error: SECRET_KEY is not set/,
  })),
  ...(['register', 'gateway', 'worker'] as Role[]).map((role) => ({
    name: `${role}: SECRET_KEY shorter than 16 characters`,
    role,
    env: { SECRET_KEY: SHORT_SECRET },
    expected: /Configuration error: SECRET_KEY .*too short/,
    secretStrings: [SHORT_SECRET],
  })),
  {
    name: 'gateway: INNER_PLAINTEXT=true together with SECRET_KEY',
    role: 'gateway',
    env: { INNER_PLAINTEXT: 'true' },
    expected: /Configuration error: SECRET_KEY .*INNER_PLAINTEXT/,
    secretStrings: [TEST_SECRET],
  },
  {
    name: 'register: REGISTER_LISTEN=nonsense',
    role: 'register',
    env: { REGISTER_LISTEN: 'nonsense' },
    expected: /Configuration error: REGISTER_LISTEN/,
  },
  {
    name: 'gateway: REGISTER_ADDRESS without a port',
    role: 'gateway',
    env: { REGISTER_ADDRESS: '1.2.3.4' },
    expected: /Configuration error: REGISTER_ADDRESS/,
  },
  {
    name: 'worker: REGISTER_ADDRESS without a port',
    role: 'worker',
    env: { REGISTER_ADDRESS: '1.2.3.4' },
    expected: /Configuration error: REGISTER_ADDRESS/,
  },
  {
    name: 'gateway: GATEWAY_LISTEN=http://x:1',
    role: 'gateway',
    env: { GATEWAY_LISTEN: 'http://x:1' },
    expected: /Configuration error: GATEWAY_LISTEN/,
  },
  {
    name: 'gateway: GATEWAY_LAN_IP=localhost',
    role: 'gateway',
    env: { GATEWAY_LAN_IP: 'localhost' },
    expected: /Configuration error: GATEWAY_LAN_IP/,
  },
  {
    name: 'gateway: GATEWAY_START_PORT=70000',
    role: 'gateway',
    env: { GATEWAY_START_PORT: '70000' },
    expected: /Configuration error: GATEWAY_START_PORT/,
  },
  {
    name: 'worker: WORKER_NAME with spaces',
    role: 'worker',
    env: { WORKER_NAME: 'my worker' },
    expected: /Configuration error: WORKER_NAME/,
  },
  {
    name: 'worker: GATEWAY_TIMEOUT_MS=0',
    role: 'worker',
    env: { GATEWAY_TIMEOUT_MS: '0' },
    expected: /Configuration error: GATEWAY_TIMEOUT_MS="0" is invalid/,
  },
  {
    name: 'worker: GATEWAY_STRICT=maybe',
    role: 'worker',
    env: { GATEWAY_STRICT: 'maybe' },
    expected: /Configuration error: GATEWAY_STRICT/,
  },
  {
    name: 'worker: HTTP_LISTEN=nonsense',
    role: 'worker',
    env: { HTTP_LISTEN: 'nonsense' },
    expected: /Configuration error: HTTP_LISTEN/,
  },
  {
    name: 'worker: DASHBOARD_TOKEN shorter than 16 characters',
    role: 'worker',
    env: { DASHBOARD_TOKEN: SHORT_SECRET },
    expected: /Configuration error: DASHBOARD_TOKEN is invalid: expected at least 16 characters \(got 10\)/,
    secretStrings: [SHORT_SECRET],
  },
  {
    name: 'gateway: GATEWAY_MAX_MESSAGE_BYTES=1MB',
    role: 'gateway',
    env: { GATEWAY_MAX_MESSAGE_BYTES: '1MB' },
    expected: /Configuration error: GATEWAY_MAX_MESSAGE_BYTES="1MB" is invalid: expected an integer/,
  },
  {
    name: 'gateway: GATEWAY_MAX_BUFFERED_BYTES=10',
    role: 'gateway',
    env: { GATEWAY_MAX_BUFFERED_BYTES: '10' },
    expected: /Configuration error: GATEWAY_MAX_BUFFERED_BYTES="10" is invalid/,
  },
  {
    name: 'gateway: GATEWAY_PENDING_EVENTS=-1',
    role: 'gateway',
    env: { GATEWAY_PENDING_EVENTS: '-1' },
    expected: /Configuration error: GATEWAY_PENDING_EVENTS/,
  },
];

interface Outcome {
  code: number | null | 'still running';
  proc: RoleProcess;
}

function envFor(c: BadCase): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...BASE[c.role], ...c.env })) if (v !== undefined) env[k] = v;
  return env;
}

/** Resolves with the exit code, or 'still running' after `timeoutMs` (the process is then stopped by stopAll). */
async function exitOf(proc: RoleProcess, timeoutMs = 20_000): Promise<Outcome> {
  return { code: await exitWithin(proc, timeoutMs), proc };
}

describe('configuration errors stop the process with status 1 and name the variable', () => {
  const outcomes = new Map<string, Outcome>();

  // All bad environments at once: each process exits on its own within about a second.
  beforeAll(async () => {
    const results = await Promise.all(BAD_CASES.map((c) => exitOf(startRole(c.role, envFor(c)))));
    BAD_CASES.forEach((c, i) => outcomes.set(c.name, results[i]));
  });
  afterEach(stopAll);
  afterAll(stopAll);

  it.each(BAD_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { code, proc } = outcomes.get(c.name)!;
    const context = `${c.name}; output:\n${proc.output}`;
    expect({ context, code }).toEqual({ context, code: 1 });
    expect({ context, matching: proc.lines.some((l) => c.expected.test(l)) }).toEqual({ context, matching: true });
    // Never a stack trace or a "failed to start" for a configuration error: one clear line.
    expect(proc.lines.filter((l) => /failed to start/.test(l))).toEqual([]);
    for (const s of c.secretStrings ?? []) expect(proc.output).not.toContain(s);
  });
});

describe('plaintext inner links (INNER_PLAINTEXT=true)', () => {
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await stopAll();
  });

  it('run a whole cluster without SECRET_KEY when every role chooses plaintext', async () => {
    const register = startRole('register', { INNER_PLAINTEXT: 'true', REGISTER_LISTEN: '127.0.0.1:0' });
    const [, registerAddress] = await register.waitFor(/Register listening on (\S+) \(plaintext inner links\)/);
    const gateway = startRole('gateway', {
      INNER_PLAINTEXT: 'true',
      REGISTER_ADDRESS: registerAddress,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
    });
    const [, url, inner] = await gateway.waitFor(/Gateway ready: clients (\S+), inner (\S+)/);
    const worker = startRole('worker', {
      INNER_PLAINTEXT: 'true',
      REGISTER_ADDRESS: registerAddress,
      HTTP_LISTEN: '127.0.0.1:0',
    });
    // Linked over a plaintext inner link to a gateway it learnt from the plaintext register.
    await waitUntilLinked(await exampleWorkerApi(worker), [inner]);

    const client = await TestClient.open(url);
    clients.push(client);
    client.send('plain hello');
    client.send(Buffer.from([9, 8, 7]));
    const [text, binary] = await client.waitForMessages(2);
    expect(text.binary).toBe(false);
    expect(text.data.toString('utf8')).toBe('plain hello');
    expect(binary.binary).toBe(true);
    expect([...binary.data]).toEqual([9, 8, 7]);
  });

  it('a plaintext gateway against an encrypted register is refused with a line naming SECRET_KEY', async () => {
    const register = startRole('register', { SECRET_KEY: TEST_SECRET, REGISTER_LISTEN: '127.0.0.1:0' });
    const [, registerAddress] = await register.waitFor(/Register listening on (\S+)/);
    const gateway = startRole('gateway', {
      INNER_PLAINTEXT: 'true',
      REGISTER_ADDRESS: registerAddress,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
    });
    await gateway.waitFor(/Gateway ready/);

    await register.waitFor(/register peer .*does not speak the encrypted inner protocol.*SECRET_KEY/);
    await gateway.waitFor(
      /register .*speaks the encrypted inner protocol but this process runs in plaintext.*SECRET_KEY/,
    );
    // The gateway retries (after 0.5-1 s, then 1-2 s); wait for a second refusal before checking nothing got
    // through (the refusal line is the behaviour under test). Counted on the gateway's side: the register logs one
    // line per reason every 10 s, the side that connects logs every refusal.
    const refused = /speaks the encrypted inner protocol but this process runs in plaintext/;
    await eventually(
      () => gateway.lines.filter((l) => refused.test(l)).length,
      (n) => n >= 2,
      'a second refusal seen by the gateway',
    );
    expect(register.lines.filter((l) => /registered/.test(l))).toEqual([]);
    expect(register.output).not.toContain(TEST_SECRET);
  });
});
