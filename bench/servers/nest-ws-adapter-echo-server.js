'use strict';
/**
 * Target B: the stock Nest WsAdapter. A minimal Nest application with
 * `app.useWebSocketAdapter(new WsAdapter(app))` and one @WebSocketGateway whose @SubscribeMessage('echo')
 * handler answers `{ event: 'echo', data }` (a WsResponse: the idiomatic ws echo; returning the bare data
 * would make WsAdapter send just the JSON-encoded string). Clients send `{"event":"echo","data":...}`,
 * the envelope WsAdapter requires, and get `{"event":"echo","data":...}` back.
 *
 * Plain JavaScript, so the decorators are applied by hand (exactly what TypeScript's emit does).
 *
 * The project has no HTTP platform package installed (@nestjs/platform-express is not a dependency), and
 * NestFactory.create() needs one, so BareHttpAdapter below is a no-op HTTP adapter over node's own
 * http.Server. The gateway shares that server's port (@WebSocketGateway() with port 0), which is exactly how
 * WsAdapter runs next to Express: it hooks the http.Server's 'upgrade' event, so the WebSocket path is the
 * stock one; nothing of the HTTP adapter runs per connection or per message.
 *
 * Prints `BENCH_READY ws://127.0.0.1:<port>` once listening. Stops on SIGTERM/SIGINT.
 */
require('reflect-metadata');
const http = require('node:http');
const { Module } = require('@nestjs/common');
const { NestFactory, AbstractHttpAdapter } = require('@nestjs/core');
const { WebSocketGateway, SubscribeMessage } = require('@nestjs/websockets');
const { WsAdapter } = require('@nestjs/platform-ws');

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

async function main() {
  const app = await NestFactory.create(AppModule, new BareHttpAdapter(), { logger: ['error', 'warn'] });
  app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  console.log(`BENCH_READY ws://127.0.0.1:${port}`);
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(`nest-ws-adapter-echo-server: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
