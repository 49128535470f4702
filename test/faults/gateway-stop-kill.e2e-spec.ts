import { GatewayTimeoutError, GatewayUnavailableError, type GatewayFailure } from 'nest-gateway-worker';
import { waitUntilStopped } from '../support/cluster-processes';
import { eventually, sleep, within } from '../support/eventually';
import { byScale } from '../support/fault-scale';
import { latencySummary, mib } from '../support/figures';
import { GatewayProbe } from '../support/gateway-probe';
import { startGateway, startRegister, startWorker, stopAll } from '../support/roles';
import { TestClient } from '../support/ws-client';

/**
 * Fault scenario: one of two gateways is frozen (SIGSTOP: still registered, its sockets open, nothing answered),
 * thawed (SIGCONT), and finally killed (SIGKILL), while an SDK client (GatewayModule.forClient, 1 s per-gateway time
 * limit) keeps querying and sending. Every phase runs the same loops for a while, and no call of one phase is still
 * running in the next:
 *  - queries about the survivor's clients are always answered (true), and multi-gateway queries always resolve, with
 *    the survivor's part when the other gateway fails;
 *  - queries about the frozen gateway's clients fail with GatewayTimeoutError within their time limit, not hang;
 *    after SIGCONT the gateway serves again; after SIGKILL they fail at once or say "offline";
 *  - sends: every message to a survivor client arrives once, in order; every message to a client of the frozen
 *    gateway arrives once, in order, after SIGCONT (nothing is lost by a pause);
 *  - the kill closes only the killed gateway's clients.
 * Query latencies are printed per phase.
 *
 * FAULT_SCALE=long: three freeze/thaw cycles, longer phases, more clients.
 */

const TIMEOUT_MS = 1_000; // GatewayProbe's forClient timeoutMs
/** How late a call may settle past its own time limit on a busy machine: "not hanging", not a latency goal. */
const SLACK_MS = 3_000;
const CLIENTS_PER_GATEWAY = byScale({ short: 3, long: 10 });
const FREEZES = byScale({ short: 1, long: 3 });
const PHASE_MS = byScale({ short: 1_500, long: 4_000 });
const SEND_INTERVAL_MS = 20;

interface Peer {
  client: TestClient;
  id: string;
  /** Messages the SDK sent to it, in order. */
  sent: string[];
}

type Outcome = 'true' | 'false' | 'GatewayTimeoutError' | 'GatewayUnavailableError' | `value ${string}` | string;

interface Call {
  op: string;
  phase: string;
  ms: number;
  outcome: Outcome;
}

function outcomeOf(err: unknown): Outcome {
  if (err instanceof GatewayTimeoutError) return 'GatewayTimeoutError';
  if (err instanceof GatewayUnavailableError) return 'GatewayUnavailableError';
  return `${(err as Error)?.name}: ${(err as Error)?.message}`;
}

describe('fault: a gateway frozen (SIGSTOP), thawed and killed under SDK traffic', () => {
  let probe: GatewayProbe | null = null;
  const peers: Peer[] = [];

  afterEach(async () => {
    for (const p of peers.splice(0)) p.client.close();
    await probe?.close();
    probe = null;
    await stopAll();
  });

  it(
    'the survivor keeps answering; the frozen one fails within the time limit, loses nothing and serves again',
    async () => {
      const started = performance.now();
      const register = await startRegister();
      const [survivor, victim] = await Promise.all([startGateway(register.address), startGateway(register.address)]);
      const worker = await startWorker(register.address);
      probe = await GatewayProbe.start(register.address);
      await probe.workers(survivor.inner, 1, 20_000);
      await probe.workers(victim.inner, 1, 20_000);
      const sdk = probe.client;

      async function peer(url: string, uid: string): Promise<Peer> {
        const client = await TestClient.open(url, {}, 10_000);
        const p: Peer = { client, id: '', sent: [] };
        peers.push(p);
        client.send(JSON.stringify({ type: 'login', name: uid, room: uid, uid }));
        p.id = JSON.parse(await client.text(0, 10_000)).client_id;
        return p;
      }
      const survivors: Peer[] = [];
      const victims: Peer[] = [];
      for (let i = 0; i < CLIENTS_PER_GATEWAY; i++) {
        survivors.push(await peer(survivor.url, `s${i}`));
        victims.push(await peer(victim.url, `v${i}`));
      }
      const failures: GatewayFailure[] = [];
      const subscription = sdk.failures.subscribe((f) => failures.push(f));

      const calls: Call[] = [];
      /** Runs the query and send loops for `ms`, then waits for every call they started. */
      async function phase(name: string, ms: number): Promise<void> {
        let running = true;
        const timed = async (op: string, call: () => Promise<unknown>) => {
          const t0 = performance.now();
          let outcome: Outcome;
          try {
            const value = await call();
            outcome = typeof value === 'boolean' ? String(value) : `value ${JSON.stringify(value)}`;
          } catch (err) {
            outcome = outcomeOf(err);
          }
          calls.push({ op, phase: name, ms: performance.now() - t0, outcome });
        };
        const loop = async (op: string, call: () => Promise<unknown>) => {
          while (running) {
            await timed(op, call);
            await sleep(20);
          }
        };
        const sender = async () => {
          for (let n = 0; running; n++) {
            for (const p of [...survivors, ...victims]) {
              if (p.client.closeCode !== null) continue;
              const text = `${name}:${n}`;
              p.sent.push(text);
              await sdk.sendToClient(p.id, text);
            }
            await sleep(SEND_INTERVAL_MS);
          }
        };
        // One query loop per client (so a frozen gateway is asked by several callers at once), one for the counts.
        const loops = [
          ...survivors.map((p) => loop('survivor isOnline', () => sdk.isOnline(p.id))),
          ...victims.map((p) => loop('victim isOnline', () => sdk.isOnline(p.id))),
          loop('getAllClientCount', () => sdk.getAllClientCount()),
          sender(),
        ];
        await sleep(ms);
        running = false;
        await within(Promise.all(loops), `the calls of phase ${name} to settle`, TIMEOUT_MS + SLACK_MS);
      }

      const recovered: number[] = [];
      await phase('healthy', PHASE_MS);
      for (let k = 0; k < FREEZES; k++) {
        victim.proc.child.kill('SIGSTOP');
        await waitUntilStopped(victim.proc.child.pid!);
        await phase(`frozen${k}`, PHASE_MS);
        victim.proc.child.kill('SIGCONT');
        const t0 = performance.now();
        await eventually(
          () => sdk.isOnline(victims[0].id),
          (online) => online,
          'the thawed gateway to answer again',
          10_000,
        );
        recovered.push(performance.now() - t0);
        await phase(`thawed${k}`, PHASE_MS);
      }
      // Everything sent to the frozen gateway's clients arrived after the thaw; the kill below closes them.
      const arrived = async (p: Peer) =>
        eventually(
          () => p.client.received.length - 1, // the login's welcome first
          (n) => n >= p.sent.length,
          `${p.sent.length} messages at ${p.id}`,
          15_000,
        );
      for (const p of victims) await arrived(p);
      const victimSent = victims.map((p) => [...p.sent]);

      await victim.proc.kill();
      await Promise.all(victims.map((p) => within(p.client.closed, `${p.id} to lose its gateway`, 10_000)));
      await phase('killed', PHASE_MS);
      // The register drops the dead gateway: its clients are offline, not errors.
      await eventually(
        () => sdk.isOnline(victims[0].id),
        (online) => online === false,
        'the killed gateway’s client to be offline',
        15_000,
      );
      subscription.unsubscribe();
      for (const p of survivors) await arrived(p);

      // ---- figures
      const phases = [...new Set(calls.map((c) => c.phase))];
      const table = phases.map((ph) => {
        const of = (op: string) => calls.filter((c) => c.phase === ph && c.op === op);
        const outcomes = (op: string) => {
          const counts = new Map<string, number>();
          for (const c of of(op)) counts.set(c.outcome, (counts.get(c.outcome) ?? 0) + 1);
          return [...counts].map(([o, n]) => `${n}× ${o}`).join(', ');
        };
        return (
          `  ${ph}: survivor isOnline ${latencySummary(of('survivor isOnline').map((c) => c.ms))}; ` +
          `victim isOnline ${latencySummary(of('victim isOnline').map((c) => c.ms))} (${outcomes('victim isOnline')}); ` +
          `getAllClientCount ${latencySummary(of('getAllClientCount').map((c) => c.ms))} (${outcomes('getAllClientCount')})`
        );
      });
      const stats = await probe.until(survivor.inner, () => true, 'survivor statistics');
      const sent = [...survivors, ...victims].reduce((n, p) => n + p.sent.length, 0);
      console.log(
        `fault gateway-stop-kill: ${FREEZES} freeze/thaw cycle(s) of ${PHASE_MS} ms then SIGKILL, ` +
          `${CLIENTS_PER_GATEWAY} clients per gateway; ${calls.length} SDK queries, ${sent} sends; ` +
          `the thawed gateway answered again after ${latencySummary(recovered)}; ${failures.length} failure(s) reported ` +
          `on gw.failures; survivor rss ${mib(stats.memoryRss)}; ${((performance.now() - started) / 1000).toFixed(1)} s\n` +
          table.join('\n'),
      );

      // ---- assertions
      for (const c of calls) {
        // Nothing hangs: every call settled within its own time limit (plus slack for a busy machine).
        expect({ ...c, late: c.ms > TIMEOUT_MS + SLACK_MS }).toMatchObject({ late: false });
        if (c.op === 'survivor isOnline') expect(c).toMatchObject({ outcome: 'true' });
      }
      const count = (ph: string) => calls.filter((c) => c.op === 'getAllClientCount' && c.phase === ph);
      const victimCalls = (ph: string) => calls.filter((c) => c.op === 'victim isOnline' && c.phase === ph);
      for (const ph of phases) {
        const frozenOrKilled = ph.startsWith('frozen') || ph === 'killed';
        const n = frozenOrKilled ? CLIENTS_PER_GATEWAY : 2 * CLIENTS_PER_GATEWAY;
        expect(count(ph).length).toBeGreaterThan(0);
        for (const c of count(ph)) expect(c.outcome).toBe(`value ${n}`); // the survivor's part, always
        expect(victimCalls(ph).length).toBeGreaterThan(0);
        const allowed = ph.startsWith('frozen')
          ? ['GatewayTimeoutError']
          : ph === 'killed'
            ? ['false', 'GatewayUnavailableError']
            : ['true'];
        for (const c of victimCalls(ph)) expect(allowed).toContain(c.outcome);
      }
      for (const p of survivors) {
        expect(p.client.closeCode).toBeNull();
        expect(p.client.received.slice(1).map((m) => m.data.toString('utf8'))).toEqual(p.sent);
      }
      victims.forEach((p, i) => {
        expect(p.client.received.slice(1).map((m) => m.data.toString('utf8'))).toEqual(victimSent[i]);
        expect(p.client.closeCode).toBe(1006);
      });
      expect(worker.running).toBe(true);
    },
    byScale({ short: 120_000, long: 600_000 }),
  );
});
