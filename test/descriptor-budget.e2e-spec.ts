import { connect, type Socket } from 'node:net';
import { eventually } from './support/eventually';
import { GatewayProbe } from './support/gateway-probe';
import { startGateway, startRegister, stopAll } from './support/roles';

/**
 * With GATEWAY_MAX_CONNECTIONS unlimited, client sockets must not take every descriptor of the gateway process:
 * the cap is derived from `ulimit -n` (here 300, set with util-linux's prlimit) minus a reserve, so an SDK client
 * (an inner link) still gets in while clients flood the listener.
 */
describe('the descriptor budget of a gateway process', () => {
  const sockets: Socket[] = [];
  let probe: GatewayProbe | undefined;

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await probe?.close();
    probe = undefined;
    await stopAll();
  });

  it('caps unlimited client connections below ulimit -n, so an inner link gets in during a flood', async () => {
    const register = await startRegister();
    const gateway = await startGateway(register.address, { GATEWAY_HANDSHAKE_TIMEOUT_MS: '60000' }, { openFiles: 300 });
    // 300 minus the reserve (64): the configuration said unlimited.
    await gateway.proc.waitFor(/client connections capped at 236: ulimit -n 300 minus 64 descriptors/);
    const port = Number(new URL(gateway.url).port);
    // 300 sockets that never upgrade, held by the 60 s handshake timeout: more than the process could hold at all.
    let closedByGateway = 0;
    for (let i = 0; i < 300; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closedByGateway++);
      sockets.push(s);
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
    }
    // The ones past the cap are destroyed at accept.
    await eventually(
      () => closedByGateway,
      (n) => n >= 300 - 236,
      'the sockets past the cap to be closed',
    );
    // A new inner link: an SDK client started now links and is answered.
    probe = await GatewayProbe.start(register.address);
    const stats = await probe.until(gateway.inner, (s) => s.counters.connectionsRefused >= 64, 'the refused count');
    console.log(
      `descriptor budget: 300 silent sockets against ulimit -n 300: ` +
        `${stats.counters.connectionsRefused} refused at accept, the rest held; an SDK client started during the flood linked and was answered`,
    );
    expect(stats.counters.connectionsRefused).toBeGreaterThanOrEqual(64);
  });
});
