import { GatewayExceptionFilter, GatewayTransport, runOrExit, workerOptionsFromEnv } from '@app/gateway';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerAppModule } from './worker-app.module';

// Configured by REGISTER_ADDRESS, SECRET_KEY and WORKER_NAME; see README.md.
runOrExit('Worker', async () => {
  const options = workerOptionsFromEnv();
  const app = await NestFactory.createMicroservice(WorkerAppModule.configure(options), {
    inject: [GatewayTransport],
    useFactory: (transport: GatewayTransport) => ({ strategy: transport }),
  });
  app.useGlobalPipes(new ValidationPipe({ transform: true }));
  app.useGlobalFilters(new GatewayExceptionFilter());
  app.enableShutdownHooks();
  await app.listen();
});
