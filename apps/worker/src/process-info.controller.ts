import { GatewayTransport, OnClientMessage } from 'nest-gateway-worker';
import { Controller, Inject } from '@nestjs/common';

/**
 * `{"type":"process"}` answers which worker process handles this connection: its worker key ("name:pid-n")
 * and pid. With WORKER_COUNT > 1 it shows the connections spread over the processes (each connection sticks
 * to one).
 */
@Controller()
export class ProcessInfoController {
  constructor(@Inject(GatewayTransport) private readonly transport: GatewayTransport) {}

  @OnClientMessage('process')
  whichProcess() {
    return { type: 'process', worker: this.transport.links.key, pid: process.pid };
  }
}
