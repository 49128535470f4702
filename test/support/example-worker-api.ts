import type { GatewayStats } from 'nest-gateway-worker';
import { eventually } from './eventually';
import type { LoggedProcess } from './roles';

/**
 * The example worker's HTTP API (apps/worker, README "This repository: quick start") as seen from a test: its
 * address, and the gateways the worker reaches (`GET /api/stats` asks every gateway over the worker's own links).
 */

/**
 * The API's base URL ("http://127.0.0.1:<port>/api"). With HTTP_LISTEN=127.0.0.1:0 the port is known only from
 * the documented ready line "HTTP API listening on <url>", so this one log wait is kept on purpose.
 */
export async function exampleWorkerApi(proc: LoggedProcess, timeoutMs = 15_000): Promise<string> {
  const [, api] = await proc.waitFor(/HTTP API listening on (http:\/\/\S+\/api)/, timeoutMs);
  return api;
}

/** `GET <api>/stats`: the statistics of every gateway the worker got an answer from over its links. */
export async function gatewayStatsVia(api: string): Promise<GatewayStats[]> {
  const res = await fetch(`${api}/stats`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${api}/stats: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { gateways: GatewayStats[] }).gateways;
}

/**
 * Waits (bounded) until the worker behind `api` is linked to every gateway in `inners`: each answered its
 * statistics request over the worker's own link (a worker link identifies itself before any request, so the
 * gateway counts the worker by then) and counts at least one worker. Returns the statistics.
 */
export async function waitUntilLinked(api: string, inners: string[], timeoutMs = 20_000): Promise<GatewayStats[]> {
  return eventually(
    () => gatewayStatsVia(api),
    (stats) => inners.every((inner) => stats.some((s) => s.address === inner && s.workers >= 1)),
    `the worker at ${api} to be linked to ${inners.join(', ')}`,
    timeoutMs,
    100,
  );
}
