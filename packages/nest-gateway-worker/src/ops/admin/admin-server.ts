import { Logger, type OnApplicationShutdown, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { listenOn } from '../../gateway/listeners/listen-on';
import { processIndex } from '../../process/process-index';
import { readiness, type Readiness } from '../health/readiness';
import { MetricsBuilder } from '../metrics/metrics-builder';
import { loadPromClient } from '../metrics/prom-client-loader';
import { adminPortOf, type ResolvedAdminOptions } from './admin-options';
import type { AdminTarget } from './admin-target';

/** The paths the admin listener serves (GET and HEAD). */
export const METRICS_PATH = '/metrics';
export const LIVENESS_PATH = '/health/live';
export const READINESS_PATH = '/health/ready';

/** Bound of the admin listener's close at shutdown; open keep-alive connections (a scraper's) are cut. */
const CLOSE_TIMEOUT_MS = 1_000;

/**
 * The admin listener of one role process: a plain Node HTTP server (no framework: three read-only routes) serving
 *  - `GET /metrics`: Prometheus text from a Registry of its own (never prom-client's global one): Node's default
 *    process metrics and the role's metrics, all read at scrape time;
 *  - `GET /health/live`: 200 while the process serves HTTP at all;
 *  - `GET /health/ready`: 200 when the role can do its job now, else 503, with a JSON body either way (the role's
 *    readiness; 503 from the moment the application begins to shut down).
 * Configured by `admin` in the role's options (env ADMIN_LISTEN); without it this provider does nothing and
 * prom-client is never loaded. No authentication: bind it to loopback or a private network.
 *
 * Nest lifecycle: listens in onModuleInit (before the role starts, so probes get 503 "starting" rather than a
 * refused connection), turns not-ready in onModuleDestroy, and closes in onApplicationShutdown once the role's own
 * stop is over.
 */
export class AdminServer implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('Admin');
  private server: Server | null = null;
  private registry: Registry | null = null;
  private shuttingDown = false;

  constructor(
    /** Null: no admin listener. */
    private readonly options: ResolvedAdminOptions | null,
    private readonly target: AdminTarget,
  ) {}

  /** The bound address (after start-up), or null when there is no admin listener. */
  get address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  /** The role's readiness now; not ready once the application began to shut down. */
  readiness(): Readiness {
    const verdict = this.target.readiness();
    if (!this.shuttingDown || !verdict.ready) return verdict;
    return readiness(verdict.checks, `the ${this.target.role.toLowerCase()} is shutting down`);
  }

  /** The Prometheus text `GET /metrics` answers with; null when there is no admin listener. */
  async metrics(): Promise<string | null> {
    return this.registry ? this.registry.metrics() : null;
  }

  async onModuleInit(): Promise<void> {
    const options = this.options;
    if (!options) return;
    const prom = loadPromClient(options.name);
    const registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry });
    const builder = new MetricsBuilder(prom, registry);
    this.target.metrics(builder);
    builder.gauge('gatewayworker_ready', '1 while GET /health/ready answers 200, else 0.', [], () =>
      this.readiness().ready ? 1 : 0,
    );
    this.registry = registry;
    const { host } = options.listen;
    const port = adminPortOf(options, processIndex());
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // A probe or scrape must never take the process down: the one request fails.
        this.logger.warn(`${req.method} ${req.url} failed: ${(err as Error)?.message ?? String(err)}`);
        if (!res.headersSent) send(res, req, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else res.destroy();
      });
    });
    try {
      // Exclusive: in a *_COUNT cluster a shared port (what port 0 would be) would spread scrapes over the children.
      await listenOn(server, port, host, true);
    } catch (err) {
      throw new Error(
        `${options.name}: the admin listener cannot listen on ${host}:${port}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    server.on('error', (err) => this.logger.error(`admin listener error: ${err.message}`));
    this.server = server;
    const bound = server.address() as AddressInfo;
    const shown = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
    this.logger.log(
      `Admin listening on http://${shown}:${bound.port} (${METRICS_PATH}, ${LIVENESS_PATH}, ${READINESS_PATH})`,
    );
  }

  onModuleDestroy(): void {
    this.shuttingDown = true;
  }

  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    const server = this.server;
    if (!server) return;
    // Probes see 503 for the whole stop (a gateway's client drain, a worker's drain), not a refused connection.
    try {
      await this.target.stopped();
    } finally {
      this.server = null;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), CLOSE_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, req, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
    }
    if (path === LIVENESS_PATH) return sendJson(res, req, 200, { live: true });
    if (path === READINESS_PATH) {
      const verdict = this.readiness();
      return sendJson(res, req, verdict.ready ? 200 : 503, verdict);
    }
    if (path === METRICS_PATH && this.registry) {
      const text = await this.registry.metrics();
      return send(res, req, 200, this.registry.contentType, text);
    }
    send(
      res,
      req,
      404,
      'text/plain; charset=utf-8',
      `not found: try ${METRICS_PATH}, ${LIVENESS_PATH}, ${READINESS_PATH}\n`,
    );
  }
}

function sendJson(res: ServerResponse, req: IncomingMessage, status: number, body: unknown): void {
  send(res, req, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function send(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
