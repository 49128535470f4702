import { MessageBody, OnClientMessage } from 'nest-gateway-worker';
import { Controller } from '@nestjs/common';

/** The example business logic: every message goes back to its sender, text as text, binary as binary. */
@Controller()
export class EchoController {
  @OnClientMessage()
  echo(@MessageBody() message: string | Buffer): string | Buffer {
    return message;
  }
}
