import { GatewayTransport, runRole, workerOptionsFromEnv } from 'nest-gateway-worker';
import { Logger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { GatewayHttpErrorsFilter } from './api/gateway-http-errors.filter';
import { serveChatPage } from './chat-page/serve-chat-page';
import { readDashboardToken } from './dashboard-token';
import { readHttpListen } from './http-listen';
import { WorkerAppModule } from './worker-app.module';

// Configured by REGISTER_ADDRESS, SECRET_KEY, WORKER_NAME, HTTP_LISTEN and DASHBOARD_TOKEN; see README.md.
// WORKER_COUNT=n runs n worker processes (a Node cluster), each linked to every gateway; they share the HTTP port.
// SIGINT / SIGTERM: the drain, then exit 0 (bounded by WORKER_DRAIN_TIMEOUT_MS + 5 s).
runRole({
  role: 'Worker',
  cluster: { countVariable: 'WORKER_COUNT', indexVariable: 'WORKER_INDEX' },
  configure: () => ({
    options: workerOptionsFromEnv(),
    http: readHttpListen(),
    dashboardToken: readDashboardToken(),
  }),
  shutdownTimeoutMs: ({ options }) => options.drainTimeoutMs,
  start: async ({ options, http, dashboardToken }) => {
    // A hybrid app: the gateway transport for client events, HTTP for the push API. The global pipe and filter
    // below are the HTTP side's (status codes); the client handlers bind ValidationPipe and GatewayExceptionFilter
    // on their controllers (ChatController), because a connected microservice registers its handlers at once and
    // ignores global pipes and filters added to it afterwards.
    // abortOnError: false: a start-up failure reaches runRole (one line, exit status 1) instead of Nest exiting here.
    const app = await NestFactory.create<NestExpressApplication>(WorkerAppModule.configure(options, dashboardToken), {
      logger: ['log', 'error', 'warn'],
      abortOnError: false,
    });
    app.connectMicroservice({ strategy: app.get(GatewayTransport) });
    app.useGlobalPipes(new ValidationPipe({ transform: true }));
    app.useGlobalFilters(new GatewayHttpErrorsFilter());
    await app.startAllMicroservices();
    if (http) {
      const chatPage = serveChatPage(app);
      await app.listen(http.port, http.host);
      const address = app.getHttpServer().address() as AddressInfo;
      const host = address.address.includes(':') ? `[${address.address}]` : address.address;
      new Logger('Worker').log(`HTTP API listening on http://${host}:${address.port}/api`);
      if (chatPage) new Logger('Worker').log(`Chat page on http://${host}:${address.port}/`);
      new Logger('Worker').log(
        `Dashboard on http://${host}:${address.port}/gateway-dashboard` +
          (dashboardToken ? '' : ' (refusing every request: DASHBOARD_TOKEN is not set)'),
      );
    } else {
      await app.init();
    }
    // Drain first (the gateways stop sending, handlers in flight finish and are acknowledged), then close: Nest's
    // close() of a hybrid app runs the modules' destroy hooks before it closes the microservice, and handlers
    // still running may need what those hooks tear down.
    return {
      close: async () => {
        await app.get(GatewayTransport).drain();
        await app.close();
      },
    };
  },
});
