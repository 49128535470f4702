import { GatewayClient, GatewayModule, type GatewayStats } from 'nest-gateway-worker';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { eventually } from './eventually';
import { TEST_SECRET } from './roles';

/**
 * The cluster as the SDK sees it: a GatewayClient in the test process (`GatewayModule.forClient`, linked to
 * every gateway the registers list), for waiting on a gateway's own statistics (workers linked, connections,
 * counters) instead of its log wording.
 */
export class GatewayProbe {
  private constructor(
    private readonly context: INestApplicationContext,
    readonly client: GatewayClient,
  ) {}

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
    return new GatewayProbe(context, context.get(GatewayClient));
  }

  /** The statistics of the gateway whose inner address is `inner`, or undefined when it is not listed or does not answer. */
  async stats(inner: string): Promise<GatewayStats | undefined> {
    return (await this.client.getGatewayStats()).find((s) => s.address === inner);
  }

  /**
   * Waits (bounded) until the gateway `inner` is listed by a register, answers, and its statistics pass `ok`;
   * returns them. The failure names `what` and the last statistics seen.
   */
  async until(inner: string, ok: (s: GatewayStats) => boolean, what: string, timeoutMs = 15_000): Promise<GatewayStats> {
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

  async close(): Promise<void> {
    await this.context.close();
  }
}
