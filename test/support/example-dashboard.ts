import { exampleWorkerApi, waitUntilLinked } from './example-worker-api';
import { startGateway, startRegister, startWorker, type RoleProcess } from './roles';
import { TestClient } from './ws-client';

/**
 * The example worker's dashboard (GatewayDashboardModule at /gateway-dashboard, DASHBOARD_TOKEN) on a real cluster,
 * as the dashboard tests use it: one register, two gateways, one example worker linked to both.
 */

/** A dashboard token good enough for tests (never a real one). */
export const TEST_DASHBOARD_TOKEN = 'dashboard-token-for-tests-0123';

export interface DashboardCluster {
  register: { proc: RoleProcess; address: string };
  gateways: { proc: RoleProcess; url: string; inner: string }[];
  worker: RoleProcess;
  /** The page's URL, "http://127.0.0.1:<port>/gateway-dashboard" (its API is under /api). */
  dashboard: string;
}

/** Starts the cluster; `workerEnv` adds to the worker's environment (DASHBOARD_TOKEN is the test token unless given). */
export async function startDashboardCluster(workerEnv: Record<string, string> = {}): Promise<DashboardCluster> {
  const register = await startRegister();
  const gateways = await Promise.all([startGateway(register.address), startGateway(register.address)]);
  const worker = await startWorker(register.address, { DASHBOARD_TOKEN: TEST_DASHBOARD_TOKEN, ...workerEnv });
  const api = await exampleWorkerApi(worker);
  await waitUntilLinked(
    api,
    gateways.map((g) => g.inner),
  );
  return { register, gateways, worker, dashboard: api.replace(/\/api$/, '/gateway-dashboard') };
}

/**
 * A WebSocket client logged in to the example chat (`{"type":"login",...}`: joins `room`, binds `uid` if given);
 * resolves with its client_id from the welcome.
 */
export async function chatClient(
  url: string,
  login: { name: string; room: string; uid?: string },
): Promise<{ client: TestClient; clientId: string }> {
  const client = await TestClient.open(url);
  client.send(JSON.stringify({ type: 'login', ...login }));
  const clientId = await client.waitUntilReceived(() => {
    for (const m of client.received) {
      try {
        const msg = JSON.parse(m.data.toString('utf8')) as { type?: string; client_id?: string };
        if (msg.type === 'welcome' && typeof msg.client_id === 'string') return msg.client_id;
      } catch {
        // not JSON: not the welcome
      }
    }
    return undefined;
  }, 'the welcome after login');
  return { client, clientId };
}

/** A request to the dashboard's API with the test token unless `token` says otherwise (null: no header). */
export async function dashboardApi(
  dashboard: string,
  path: string,
  options: { method?: 'GET' | 'POST'; body?: unknown; token?: string | null; contentType?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of many shapes, read field by field
): Promise<{ status: number; body: any; headers: Headers }> {
  const token = options.token === undefined ? TEST_DASHBOARD_TOKEN : options.token;
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await fetch(`${dashboard}/api/${path}`, {
    method: options.method ?? 'GET',
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the raw text for the failure message
  }
  return { status: res.status, body, headers: res.headers };
}
