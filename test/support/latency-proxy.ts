import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** Most connections a LatencyProxy relays at once (more are refused: closed at once). */
export const LATENCY_PROXY_MAX_CONNECTIONS = 64;
/** Most bytes one direction of one connection may hold back; beyond it the connection is closed. */
export const LATENCY_PROXY_MAX_QUEUED_BYTES = 8 << 20;

/**
 * A TCP relay that adds latency (the kernel here has no `tc netem`): every chunk read from one side is written to
 * the other `delayMs` later, in order (a chunk never overtakes the one before it, even when the delay is lowered).
 * `delayMs` applies to each direction, so a request/reply round trip gains twice that. Bounded: at most
 * {@link LATENCY_PROXY_MAX_CONNECTIONS} connections and {@link LATENCY_PROXY_MAX_QUEUED_BYTES} held back per direction;
 * close() ends every connection.
 */
export class LatencyProxy {
  /** Added one-way latency in milliseconds; can be changed at any time (applies to chunks read from then on). */
  delayMs = 0;
  /** Connections accepted so far (tests). */
  accepted = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (socket) => this.relay(socket));
  }

  /** Listens on `host` (any free port) and relays to `target`. */
  static async start(host: string, target: { host: string; port: number }): Promise<LatencyProxy> {
    const server = createServer();
    const proxy = new LatencyProxy(server, target);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    return proxy;
  }

  get host(): string {
    return (this.server.address() as AddressInfo).address;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `redis://host:port` of the proxy. */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket): void {
    if (this.sockets.size >= LATENCY_PROXY_MAX_CONNECTIONS * 2) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = connect(this.target.port, this.target.host);
    const both = [client, upstream];
    for (const s of both) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        for (const other of both) if (other !== s) other.destroy();
      });
    }
    this.delayed(client, upstream);
    this.delayed(upstream, client);
  }

  /** Relays `from` → `to`, each chunk `delayMs` after it was read, in order; ends `to` after `from` ended. */
  private delayed(from: Socket, to: Socket): void {
    const queue: { due: number; chunk: Buffer }[] = [];
    let queued = 0;
    let lastDue = 0;
    let ended = false;
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      timer = null;
      const now = Date.now();
      while (queue.length > 0 && queue[0].due <= now) {
        const { chunk } = queue.shift()!;
        queued -= chunk.length;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(flush, queue[0].due - now);
      else if (ended && !to.destroyed) to.end();
    };
    from.on('data', (chunk: Buffer) => {
      queued += chunk.length;
      if (queued > LATENCY_PROXY_MAX_QUEUED_BYTES) {
        from.destroy();
        return;
      }
      lastDue = Math.max(Date.now() + this.delayMs, lastDue);
      queue.push({ due: lastDue, chunk });
      if (timer === null) timer = setTimeout(flush, Math.max(0, queue[0].due - Date.now()));
    });
    from.on('end', () => {
      ended = true;
      if (timer === null) flush();
    });
    from.on('close', () => {
      if (timer) clearTimeout(timer);
    });
  }
}
