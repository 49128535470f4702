import {
  GatewayClient,
  GatewayExceptionFilter,
  GatewayModule,
  GatewayTransport,
  type WorkerOptions,
} from 'nest-gateway-worker';
import { ValidationPipe, type INestMicroservice, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GatewayProbe } from './gateway-probe';

/**
 * A worker app inside the test process (so tests can use their own handlers), linked over real sockets to
 * gateway and register processes. Mirrors apps/worker/src/main.ts. With `linkedTo` (gateway inner addresses),
 * resolves once the worker is linked to each of them (they answer its own GatewayClient over its links).
 */
export async function startInProcessWorker(
  controllers: Type<unknown>[],
  options: WorkerOptions,
  linkedTo: string[] = [],
): Promise<{ app: INestMicroservice; transport: GatewayTransport }> {
  class TestWorkerModule {}
  const dynamic = { module: TestWorkerModule, imports: [GatewayModule.forWorker(options)], controllers };
  const app = await NestFactory.createMicroservice(dynamic, {
    inject: [GatewayTransport],
    useFactory: (transport: GatewayTransport) => ({ strategy: transport }),
    logger: ['error', 'warn'],
  });
  app.useGlobalPipes(new ValidationPipe());
  app.useGlobalFilters(new GatewayExceptionFilter());
  await app.listen();
  if (linkedTo.length > 0) await GatewayProbe.of(app.get(GatewayClient)).linked(linkedTo);
  return { app, transport: app.get(GatewayTransport) };
}
