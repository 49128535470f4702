import { Controller, Inject, UseFilters, UsePipes, ValidationPipe } from '@nestjs/common';
import { ClientId, GatewayClient, GatewayExceptionFilter, MessageBody, OnClientMessage } from 'nest-gateway-worker';
import { LoginMessage, PingMessage } from './chat.dto';

// Client messages are JSON text with a "type". In a hybrid app the pipe and the filter are bound here: the
// connected microservice does not see global ones added after it.
@Controller()
@UsePipes(new ValidationPipe())
@UseFilters(new GatewayExceptionFilter())
export class ChatController {
  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {}

  @OnClientMessage('ping')
  ping(@MessageBody() body: PingMessage) {
    return { type: 'pong', seq: body.seq };
  }

  @OnClientMessage('login')
  async login(@ClientId() clientId: string, @MessageBody() body: LoginMessage) {
    await this.gw.bindUid(clientId, body.uid);
    return { type: 'welcome', uid: body.uid };
  }
}
