import { GatewayClient, GatewayModule, type GatewayStats } from 'nest-gateway-worker';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { eventually } from './eventually';
import { TEST_SECRET } from './roles';

/**
 * The cluster as the SDK sees it, for waiting on a gateway's own statistics (workers linked, connections,
 * counters) instead of its log wording: a GatewayClient in the test process (`start`: `GatewayModule.forClient`,
 * linked to every gateway the registers list), or a worker's own GatewayClient (`of`), which rides the worker's
 * links, so that a gateway answering it proves the worker is linked to that gateway.
 */
export class GatewayProbe {
  private constructor(
    readonly client: GatewayClient,
    private readonly context?: INestApplicationContext,
  ) {}

  /** A probe over an existing GatewayClient (an in-process worker's: `app.get(GatewayClient)`); nothing to close. */
  static of(client: GatewayClient): GatewayProbe {
    return new GatewayProbe(client);
  }

  /** A probe on `registers` ("host:port[,host:port]"), with the tests' secret unless plaintext. */
  static async start(registers: string, options: { plaintext?: boolean } = {}): Promise<GatewayProbe> {
    const gatewayModule = GatewayModule.forClient({
      registers,
      ...(options.plaintext ? { plaintext: true } : { secret: TEST_SECRET }),
      timeoutMs: 1_000,
    });
    @Module({ imports: [gatewayModule] })
    class GatewayProbeModule {}
    // Errors only: a gateway that does not answer yet is what the waits below wait through.
    const context = await NestFactory.createApplicationContext(GatewayProbeModule, { logger: ['error'] });
    return new GatewayProbe(context.get(GatewayClient), context);
  }

  /** The statistics of the gateway whose inner address is `inner`, or undefined when it is not listed or does not answer. */
  async stats(inner: string): Promise<GatewayStats | undefined> {
    return (await this.client.getGatewayStats()).find((s) => s.address === inner);
  }

  /**
   * Waits (bounded) until the gateway `inner` is listed by a register, answers, and its statistics pass `ok`;
   * returns them. The failure names `what` and the last statistics seen.
   */
  async until(
    inner: string,
    ok: (s: GatewayStats) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<GatewayStats> {
    const stats = await eventually(
      () => this.stats(inner),
      (s) => s !== undefined && ok(s),
      `gateway ${inner}: ${what}`,
      timeoutMs,
    );
    return stats!;
  }

  /** Waits (bounded) until the gateway `inner` has exactly `count` workers linked. */
  workers(inner: string, count: number, timeoutMs?: number): Promise<GatewayStats> {
    return this.until(inner, (s) => s.workers === count, `${count} worker(s) linked`, timeoutMs);
  }

  /**
   * Waits (bounded) until every gateway in `inners` answers this probe and counts at least one worker. Through a
   * worker's own client (`of`) that means this worker is linked to each: its link identifies it as a worker
   * before it carries any request.
   */
  async linked(inners: string[], timeoutMs = 15_000): Promise<GatewayStats[]> {
    return eventually(
      () => this.client.getGatewayStats(),
      (stats) => inners.every((inner) => stats.some((s) => s.address === inner && s.workers >= 1)),
      `${inners.join(', ')} to answer with a worker linked`,
      timeoutMs,
    );
  }

  async close(): Promise<void> {
    await this.context?.close();
  }
}
