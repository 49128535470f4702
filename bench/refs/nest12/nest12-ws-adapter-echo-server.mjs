/**
 * Target B12: the stock Nest 12 WsAdapter (@nestjs/core 12.5, @nestjs/platform-ws 12.1), the same application as
 * target B (bench/servers/nest-ws-adapter-echo-server.js, Nest 11 from the monorepo): one @WebSocketGateway whose
 * @SubscribeMessage('echo') handler answers `{ event: 'echo', data }`, served by `new WsAdapter(app)` over a
 * no-op HTTP adapter on node's http.Server (the project has no HTTP platform package; WsAdapter hooks the
 * server's 'upgrade' event exactly as it does next to Express).
 *
 * Nest 12 is published as ES modules only, hence this file is a module of its own package (bench/refs/nest12,
 * installed by the benchmark with `npm ci --prefix bench/refs/nest12` on first use). Decorators are applied by
 * hand, as TypeScript's emit does.
 *
 * Prints `BENCH_READY ws://127.0.0.1:<port>` once listening. Stops on SIGTERM/SIGINT.
 */
import 'reflect-metadata';
import http from 'node:http';
import { Module } from '@nestjs/common';
import { NestFactory, AbstractHttpAdapter } from '@nestjs/core';
import { WebSocketGateway, SubscribeMessage } from '@nestjs/websockets';
import { WsAdapter } from '@nestjs/platform-ws';

class BareHttpAdapter extends AbstractHttpAdapter {
  initHttpServer() {
    this.httpServer = http.createServer((req, res) => {
      res.statusCode = 404;
      res.end();
    });
  }
  listen(port, ...rest) {
    return this.httpServer.listen(port, ...rest);
  }
  close() {
    return new Promise((resolve) => (this.httpServer ? this.httpServer.close(() => resolve()) : resolve()));
  }
  getType() {
    return 'bare-http';
  }
  createMiddlewareFactory() {
    return () => undefined;
  }
  applyVersionFilter(handler) {
    return handler;
  }
  // Nothing below is used by a WebSocket-only app; present because AbstractHttpAdapter declares them.
  useStaticAssets() {}
  setViewEngine() {}
  getRequestHostname() {}
  getRequestMethod() {}
  getRequestUrl() {}
  status() {}
  reply() {}
  end() {}
  render() {}
  redirect() {}
  setErrorHandler() {}
  setNotFoundHandler() {}
  isHeadersSent() {}
  getHeader() {}
  setHeader() {}
  appendHeader() {}
  registerParserMiddleware() {}
  enableCors() {}
}

class EchoGateway {
  // Without parameter decorators Nest calls a ws handler with (client, data).
  echo(client, data) {
    return { event: 'echo', data };
  }
}
SubscribeMessage('echo')(EchoGateway.prototype, 'echo', Object.getOwnPropertyDescriptor(EchoGateway.prototype, 'echo'));
WebSocketGateway()(EchoGateway);

class AppModule {}
Module({ providers: [EchoGateway] })(AppModule);

try {
  const app = await NestFactory.create(AppModule, new BareHttpAdapter(), { logger: ['error', 'warn'] });
  app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  console.log(`BENCH_READY ws://127.0.0.1:${port}`);
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (err) {
  console.error(`nest12 ws-adapter echo server: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
}
