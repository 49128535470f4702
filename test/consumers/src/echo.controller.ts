import { Controller } from '@nestjs/common';
import { MessageBody, OnClientMessage } from 'nest-gateway-worker';

// No pipe, guard, interceptor or filter: the worker calls this method directly (its fast path around Nest's RPC
// wrapper), on Nest 11 and on Nest 12 alike.
@Controller()
export class EchoController {
  @OnClientMessage('echo')
  echo(@MessageBody() body: { type: 'echo'; text: string }) {
    return { type: 'echoed', text: body.text };
  }
}
