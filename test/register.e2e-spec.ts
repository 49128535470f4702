import { eventually } from './support/eventually';
import { GatewayProbe } from './support/gateway-probe';
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

/** Sends `text` and expects it back as the next (n-th) message, as text. */
async function echoes(client: TestClient, text: string): Promise<void> {
  const n = client.received.length;
  client.send(text);
  expect(await client.text(n)).toBe(text);
  expect(client.received[n].binary).toBe(false);
}

describe('register, gateway and worker as separate processes', () => {
  const clients: TestClient[] = [];
  const probes: GatewayProbe[] = [];

  /** A GatewayClient on `registers`: what they list, and what each listed gateway reports. */
  async function probe(registers: string): Promise<GatewayProbe> {
    const p = await GatewayProbe.start(registers);
    probes.push(p);
    return p;
  }

  async function open(url: string): Promise<TestClient> {
    const client = await TestClient.open(url);
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of probes.splice(0)) await p.close();
    await stopAll();
  });

  it('echoes a client message through register, gateway and worker, text as text and binary as binary', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address);
    // Linked to the gateway, which the worker can only have learnt from the register.
    await startWorker(register.address, {}, gateway.inner);

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
    // The gateway retries (after 0.5-1 s, then 1-2 s); a second refusal gives "registered" a fair chance to appear
    // if the refusal were not final. It is counted on the gateway's side: the register logs one line per reason
    // every 10 s (a flood of bad links must not flood its log), the side that connects logs every refusal.
    await eventually(
      () => countLines(gateway.proc, /SECRET_KEY differs/),
      (n) => n >= 2,
      'a second "SECRET_KEY differs" line from the gateway',
    );

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
    await startWorker(first.address, { WORKER_NAME: 'first' }, gateway.inner);

    const client = await open(gateway.url);
    await echoes(client, 'before the register stops');

    await first.proc.stop(); // resolves once the register process has exited
    expect(first.proc.running).toBe(false);
    await echoes(client, 'while the register is down');

    const second = await startRegister({ REGISTER_LISTEN: first.address });
    expect(second.address).toBe(first.address);
    // The new register lists the gateway: it registered again on its own.
    await (await probe(second.address)).until(gateway.inner, () => true, 'listed by the restarted register');

    // A worker started now can only have learnt the gateway from the new register.
    await startWorker(second.address, { WORKER_NAME: 'second' }, gateway.inner);
    await echoes(client, 'after the register is back');
  });

  it('lets a gateway announce to several registers, and workers discover it while one register is dead', async () => {
    const [a, b] = await Promise.all([startRegister(), startRegister()]);
    const gateway = await startGateway(`${a.address},${b.address}`);
    const [viaA, viaB] = await Promise.all([probe(a.address), probe(b.address)]);
    await Promise.all([viaA, viaB].map((p) => p.until(gateway.inner, () => true, 'listed by its register')));
    await viaA.close();

    const onlyB = await startWorker(b.address, { WORKER_NAME: 'only-b' }, gateway.inner);

    await a.proc.kill();
    // Take the first worker away, so the echo below can only go through the worker started after A died.
    await onlyB.stop();
    await viaB.workers(gateway.inner, 0);

    await startWorker(`${a.address},${b.address}`, { WORKER_NAME: 'a-and-b' }, gateway.inner);
    const client = await open(gateway.url);
    await echoes(client, 'through the worker that found the gateway via B');
  });
});
