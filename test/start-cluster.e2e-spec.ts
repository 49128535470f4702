import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { isAlive, killQuietly, waitGone } from './support/cluster-processes';
import { eventually, exitWithin } from './support/eventually';
import { LoggedProcess } from './support/roles';
import { TestClient } from './support/ws-client';

/**
 * `npm start` (scripts/start-cluster.js): one launcher starting register, gateway and worker as child
 * processes, generating a secret when none is set, and taking all three down on SIGTERM.
 */

const ROOT = resolve(__dirname, '..');
const LAUNCHER = resolve(ROOT, 'scripts', 'start-cluster.js');

/** The pids the launcher's children print in their Nest log prefix ("[register] [Nest] PID  - ..."). */
function rolePids(launcher: LoggedProcess): Map<string, number> {
  const pids = new Map<string, number>();
  for (const line of launcher.lines) {
    const m = /^\[(register|gateway|worker)\] \[Nest\] (\d+)/.exec(line);
    if (m && !pids.has(m[1])) pids.set(m[1], Number(m[2]));
  }
  return pids;
}

describe('scripts/start-cluster.js', () => {
  let launcher: LoggedProcess | null = null;
  let client: TestClient | null = null;

  afterEach(async () => {
    client?.close();
    client = null;
    if (!launcher) return;
    // Leftovers of a failed test, by pid: the three roles first, then the launcher itself.
    killQuietly(rolePids(launcher).values());
    await launcher.kill();
    launcher = null;
  });

  it('starts a working cluster with a generated secret it never prints, and SIGTERM stops all three roles', async () => {
    const child = spawn(process.execPath, [LAUNCHER], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NO_COLOR: '1',
        REGISTER_LISTEN: '127.0.0.1:0',
        GATEWAY_LISTEN: 'ws://127.0.0.1:0',
        GATEWAY_START_PORT: '0',
        HTTP_LISTEN: '127.0.0.1:0',
        // The launcher's admin listeners (default ports 9236, 9272, 9400) on free ports instead.
        ADMIN_LISTEN: '127.0.0.1:0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    launcher = new LoggedProcess('start-cluster', child);

    const [, url, api, registerAdmin, gatewayAdmin, workerAdmin] = await launcher.waitFor(
      /GatewayWorker cluster ready: connect a WebSocket client to (ws:\/\/127\.0\.0\.1:\d+).*HTTP push API: (http:\/\/\S+\/api).*Metrics and health \(\/metrics, \/health\/ready\): register (\S+), gateway (\S+), worker (\S+)\./,
    );
    // Every role serves its admin listener, and becomes ready (the gateway once it has counted the worker's link).
    for (const admin of [registerAdmin, gatewayAdmin, workerAdmin]) {
      await eventually(
        async () => (await fetch(`${admin}/health/ready`, { signal: AbortSignal.timeout(5_000) })).status,
        (status) => status === 200,
        `${admin}/health/ready to answer 200`,
      );
    }
    client = await TestClient.open(url);
    client.send('hello cluster');
    expect(await client.text(0)).toBe('hello cluster');
    expect(client.received[0].binary).toBe(false);

    // The chat example and the HTTP API of the same worker.
    client.send(JSON.stringify({ type: 'login', name: 'Ann', room: 'lobby', uid: 'ann' }));
    const welcome = JSON.parse(await client.text(1)) as {
      type: string;
      client_id: string;
      client_list: Record<string, string>;
    };
    expect(welcome.type).toBe('welcome');
    expect(welcome.client_list).toEqual({ [welcome.client_id]: 'Ann' });
    const online = (await (await fetch(`${api}/online`)).json()) as {
      clients: number;
      uids: number;
      groups: Record<string, number>;
    };
    expect(online).toEqual({ clients: 1, uids: 1, groups: { lobby: 1 } });

    // The chat page's address, told where the gateway is (not on the page's default port 7272 here), and the page
    // and the client library it loads.
    const [, page] = await launcher.waitFor(/^Chat page: (http:\/\/\S+) \(open it in two windows\)/);
    expect(page).toBe(`${api.replace(/api$/, '')}?gateway=${encodeURIComponent(url)}`);
    const html = await fetch(page);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toContain('<script type="module" src="chat.js"></script>');
    const library = await fetch(new URL('/lib/nest-gateway-worker-client.min.js', page));
    expect(library.status).toBe(200);
    // Browsers load a module script only when it is served with a JavaScript type.
    expect(library.headers.get('content-type')).toMatch(/javascript/);

    expect(launcher.output).toMatch(/SECRET_KEY not set; generated a random one/);
    expect(launcher.output).not.toMatch(/[0-9a-f]{48}/i);

    const pids = rolePids(launcher);
    expect([...pids.keys()].sort()).toEqual(['gateway', 'register', 'worker']);
    for (const pid of pids.values()) expect(isAlive(pid)).toBe(true);

    client.close();
    client = null;
    child.kill('SIGTERM');
    const outcome = await exitWithin(launcher, 15_000);
    // SIGTERM is an orderly stop: status 0 once the three are down.
    expect(outcome).toBe(0);
    expect(child.signalCode).toBeNull();

    expect(await waitGone([...pids.values()])).toEqual([]);
  });
});
