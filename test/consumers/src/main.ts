import { NestFactory } from '@nestjs/core';
import { GatewayTransport, runRole, workerOptionsFromEnv } from 'nest-gateway-worker';
import { AppModule } from './app.module';

// A hybrid app: client events arrive through the gateways (REGISTER_ADDRESS, SECRET_KEY), the push API on HTTP
// (PORT). runRole validates the environment, and on SIGTERM / SIGINT drains, closes and exits 0.
runRole({
  role: 'Worker',
  configure: () => workerOptionsFromEnv(),
  shutdownTimeoutMs: (options) => options.drainTimeoutMs,
  start: async (options) => {
    const app = await NestFactory.create(AppModule.configure(options));
    app.connectMicroservice({ strategy: app.get(GatewayTransport) });
    await app.startAllMicroservices();
    await app.listen(process.env.PORT ?? 3000, process.env.HOST ?? '127.0.0.1');
    return {
      close: async () => {
        await app.get(GatewayTransport).drain();
        await app.close();
      },
    };
  },
});
