import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 in front of a real server ("host:port") that records what each client sends through it:
 * a real peer's handshake and first records, to be replayed, cut short or mutated by a fuzz scenario. Both
 * directions are passed on unchanged; the recording stops at `limit` bytes per connection.
 */
export class CaptureProxy {
  /** What the client of connection i sent, in order. */
  readonly sent: Buffer[][] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  static async start(target: string, limit = 64 * 1024): Promise<CaptureProxy> {
    const colon = target.lastIndexOf(':');
    const [host, port] = [target.slice(0, colon), Number(target.slice(colon + 1))];
    let proxy: CaptureProxy | null = null;
    const server = createServer((client) => {
      const record: Buffer[] = [];
      let recorded = 0;
      proxy!.sent.push(record);
      const upstream = connect(port, host);
      for (const s of [client, upstream]) {
        proxy!.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          proxy?.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        if (recorded < limit) record.push(Buffer.from(chunk.subarray(0, limit - recorded)));
        recorded += chunk.length;
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new CaptureProxy(server, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** Everything client `i` sent, as one buffer. */
  captured(i = 0): Buffer {
    return Buffer.concat(this.sent[i] ?? []);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
