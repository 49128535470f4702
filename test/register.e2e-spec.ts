import { startGateway, startRegister, startWorker, stopAll, TEST_SECRET, type RoleProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * Discovery across real processes: a register, gateways announcing themselves to it, workers finding the
 * gateways through it, and what happens when a register is refused, restarted or lost.
 */

/** A regular expression matching `text` literally. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function countLines(proc: RoleProcess, re: RegExp): number {
  return proc.lines.filter((line) => re.test(line)).length;
}

/** Polls until `proc` has printed at least `count` lines matching `re`; rejects after `timeoutMs`. */
async function waitForCount(proc: RoleProcess, re: RegExp, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (countLines(proc, re) < count) {
    if (Date.now() > deadline) {
      throw new Error(
        `${proc.role} (pid ${proc.child.pid}) printed ${countLines(proc, re)} line(s) matching ${re}, expected ${count}, ` +
          `within ${timeoutMs} ms; output:\n${proc.output}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends `text` and expects it back as the next (n-th) message, as text. */
async function echoes(client: TestClient, text: string): Promise<void> {
  const n = client.received.length;
  client.send(text);
  expect(await client.text(n)).toBe(text);
  expect(client.received[n].binary).toBe(false);
}

describe('register, gateway and worker as separate processes', () => {
  const clients: TestClient[] = [];

  async function open(url: string): Promise<TestClient> {
    const client = await TestClient.open(url);
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await stopAll();
  });

  it('echoes a client message through register, gateway and worker, text as text and binary as binary', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    await register.proc.waitFor(new RegExp(`gateway ${literal(gateway.inner)} registered`));
    await startWorker(register.address, {}, gateway.inner);
    await gateway.proc.waitFor(/worker \S+ connected from /);

    const client = await open(gateway.url);
    client.send('hello');
    client.send(Buffer.from([1, 2, 3]));
    const [text, binary] = await client.waitForMessages(2);
    expect(text.binary).toBe(false);
    expect(text.data.toString('utf8')).toBe('hello');
    expect(binary.binary).toBe(true);
    expect([...binary.data]).toEqual([1, 2, 3]);
  });

  it('refuses a gateway whose SECRET_KEY differs, says so on both sides and never logs either secret', async () => {
    const otherSecret = 'other-secret-fedcba9876543210';
    expect(otherSecret).not.toBe(TEST_SECRET);
    const register = await startRegister();
    const gateway = await startGateway(register.address, { SECRET_KEY: otherSecret });

    await register.proc.waitFor(/register peer .*SECRET_KEY differs/);
    await gateway.proc.waitFor(new RegExp(`register ${literal(register.address)}.*SECRET_KEY differs`));
    // The gateway retries every second; a second refusal on the register side gives "registered" a fair chance to
    // appear if the refusal were not final.
    await waitForCount(register.proc, /SECRET_KEY differs/, 2);

    expect(register.proc.lines.filter((l) => /registered/.test(l))).toEqual([]);
    expect(countLines(gateway.proc, /connected to register/)).toBe(0);
    for (const proc of [register.proc, gateway.proc]) {
      expect(proc.output).not.toContain(TEST_SECRET);
      expect(proc.output).not.toContain(otherSecret);
    }
  });

  it('keeps traffic flowing while the register is down and restores discovery when it comes back on the same address', async () => {
    const first = await startRegister();
    const gateway = await startGateway(first.address);
    await first.proc.waitFor(new RegExp(`gateway ${literal(gateway.inner)} registered`));
    await startWorker(first.address, { WORKER_NAME: 'first' }, gateway.inner);
    await gateway.proc.waitFor(/worker first:\S+ connected from /);

    const client = await open(gateway.url);
    await echoes(client, 'before the register stops');
    const connectedToRegister = new RegExp(`connected to register ${literal(first.address)}`);
    expect(countLines(gateway.proc, connectedToRegister)).toBe(1);

    await first.proc.stop();
    await gateway.proc.waitFor(new RegExp(`register ${literal(first.address)} unreachable`));
    await echoes(client, 'while the register is down');

    const second = await startRegister({ REGISTER_LISTEN: first.address });
    expect(second.address).toBe(first.address);
    await waitForCount(gateway.proc, connectedToRegister, 2);
    await second.proc.waitFor(new RegExp(`gateway ${literal(gateway.inner)} registered`));

    // A worker started now can only have learnt the gateway from the new register.
    await startWorker(second.address, { WORKER_NAME: 'second' }, gateway.inner);
    await gateway.proc.waitFor(/worker second:\S+ connected from /);
    await echoes(client, 'after the register is back');
  });

  it('lets a gateway announce to several registers, and workers discover it while one register is dead', async () => {
    const [a, b] = await Promise.all([startRegister(), startRegister()]);
    const gateway = await startGateway(`${a.address},${b.address}`);
    const registered = new RegExp(`gateway ${literal(gateway.inner)} registered`);
    await Promise.all([a.proc.waitFor(registered), b.proc.waitFor(registered)]);

    const onlyB = await startWorker(b.address, { WORKER_NAME: 'only-b' }, gateway.inner);
    await gateway.proc.waitFor(/worker only-b:\S+ connected from /);

    await a.proc.kill();
    // Take the first worker away, so the echo below can only go through the worker started after A died.
    await onlyB.stop();
    // The gateway names the channel "<peer ip>:<worker key>" in this line.
    await gateway.proc.waitFor(/worker \S*only-b:\S+ disconnected/);

    await startWorker(`${a.address},${b.address}`, { WORKER_NAME: 'a-and-b' }, gateway.inner);
    await gateway.proc.waitFor(/worker a-and-b:\S+ connected from /);
    const client = await open(gateway.url);
    await echoes(client, 'through the worker that found the gateway via B');
  });
});
