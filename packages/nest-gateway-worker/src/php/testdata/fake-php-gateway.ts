import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Cmd } from '../../protocol/command';
import { encodeFrame, type GatewayFrame } from '../../protocol/frame';
import { FrameDecoder } from '../../protocol/frame-decoder';
import { encodePhpReply } from '../php-reply';

/** A frame a fake PHP gateway received, with the connection (numbered from 1 in accept order) it came on. */
export interface ReceivedFrame {
  connection: number;
  frame: GatewayFrame;
  /** The frame's bytes as received. */
  bytes: Buffer;
}

/**
 * A PHP GatewayWorker gateway and register played in TypeScript, for specs of our worker and GatewayClient with the
 * php profile: the register answers every worker_connect with the gateway's address (PHP's broadcast_addresses), the
 * gateway's inner port records every frame and answers requests in PHP's form (`u32 length + payload`) with what
 * `answer` returns, and can send frames (events) to the connections that identified as workers (CMD 200).
 */
export class FakePhpGateway {
  readonly received: ReceivedFrame[] = [];
  /** Register lines received (with their "\n"). */
  readonly registerLines: string[] = [];
  /** The reply payload to a request frame (R/R commands); undefined: no reply. */
  answer: (f: GatewayFrame) => Buffer | undefined = () => undefined;
  private readonly workers = new Set<Socket>();
  private readonly sockets = new Set<Socket>();
  private connections = 0;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly inner: Server,
    private readonly register: Server,
  ) {}

  static async start(): Promise<FakePhpGateway> {
    const inner = createServer();
    const register = createServer();
    const gateway = new FakePhpGateway(inner, register);
    inner.on('connection', (s) => gateway.acceptInner(s));
    register.on('connection', (s) => gateway.acceptRegister(s));
    await Promise.all([listen(inner), listen(register)]);
    return gateway;
  }

  /** The inner address ("127.0.0.1:port") the register lists. */
  get address(): string {
    return `127.0.0.1:${(this.inner.address() as AddressInfo).port}`;
  }

  get registerAddress(): string {
    return `127.0.0.1:${(this.register.address() as AddressInfo).port}`;
  }

  /** Writes bytes (event frames) to every connection that identified as a worker. */
  sendToWorkers(bytes: Buffer): void {
    for (const s of this.workers) s.write(bytes);
  }

  get workerCount(): number {
    return this.workers.size;
  }

  /** Waits (bounded) until `condition` holds, re-checked whenever something arrives. */
  async until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake PHP gateway: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Frames received with command `cmd`. */
  framesOf(cmd: Cmd): ReceivedFrame[] {
    return this.received.filter((r) => r.frame.cmd === cmd);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([closeServer(this.inner), closeServer(this.register)]);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private acceptInner(socket: Socket): void {
    const connection = ++this.connections;
    this.sockets.add(socket);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        // The frame's bytes again (encoding is exact): what PHP's decoder would have seen.
        const bytes = encodeFrame(f);
        this.received.push({ connection, frame: { ...f, ext: Buffer.from(f.ext), body: Buffer.from(f.body) }, bytes });
        if (f.cmd === Cmd.WorkerConnect) this.workers.add(socket);
        const payload = this.answer(f);
        if (payload !== undefined) socket.write(encodePhpReply(payload));
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.workers.delete(socket);
      this.sockets.delete(socket);
      this.wake();
    });
  }

  private acceptRegister(socket: Socket): void {
    this.sockets.add(socket);
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n')) {
        const line = text.slice(0, at + 1);
        text = text.slice(at + 1);
        this.registerLines.push(line);
        if (line.includes('"worker_connect"')) {
          socket.write(`{"event":"broadcast_addresses","addresses":["${this.address}"]}\n`);
        }
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
