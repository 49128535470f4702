/**
 * A worker process for fault tests (started by ./poison-workers.ts with ts-node, against the built package, as a
 * user's worker app imports it): `{"type":"poison"}` kills the process (`process.exit(1)`, as a native crash or an
 * out-of-memory would), `{"type":"whoami"}` answers `{"clientId": ...}`, every other message is echoed, and an
 * `@OnDeadLetter()` handler prints each dead letter it receives as one line, `DEAD LETTER <json>` (the body as
 * text: the tests send their own).
 */
import 'reflect-metadata';
import { Controller, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientId,
  GatewayModule,
  GatewayTransport,
  MessageBody,
  OnClientMessage,
  OnDeadLetter,
  workerOptionsFromEnv,
  type DeadLetter,
  type WorkerOptions,
} from 'nest-gateway-worker';

@Controller()
class PoisonController {
  @OnClientMessage('poison')
  poison(): void {
    process.exit(1);
  }

  @OnClientMessage('whoami')
  whoami(@ClientId() clientId: string): { clientId: string } {
    return { clientId };
  }

  @OnClientMessage()
  echo(@MessageBody() message: string | Buffer): string | Buffer {
    return message;
  }

  @OnDeadLetter()
  deadLetter(@MessageBody() letter: DeadLetter): void {
    console.log(`DEAD LETTER ${JSON.stringify({ ...letter, body: letter.body.toString('utf8') })}`);
  }
}

@Module({})
class PoisonWorkerModule {
  static configure(options: WorkerOptions): DynamicModule {
    return { module: PoisonWorkerModule, imports: [GatewayModule.forWorker(options)], controllers: [PoisonController] };
  }
}

async function main(): Promise<void> {
  const app = await NestFactory.createMicroservice(PoisonWorkerModule.configure(workerOptionsFromEnv()), {
    inject: [GatewayTransport],
    useFactory: (transport: GatewayTransport) => ({ strategy: transport }),
  });
  await app.listen();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
