import { GatewayClient } from 'nest-gateway-worker';
import { Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import { KickRequest, NotifyRequest } from './api.dto';

/**
 * The HTTP side of the example worker (a hybrid Nest app): the same GatewayClient the chat handlers use,
 * called from ordinary HTTP routes, as a PHP app would call GatewayClient from php-fpm.
 */
@Controller('api')
export class ApiController {
  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {}

  /** Pushes a message to every connection of a user. */
  @Post('notify')
  @HttpCode(200)
  async notify(@Body() body: NotifyRequest) {
    const online = await this.gw.isUidOnline(body.uid);
    if (online) await this.gw.sendToUid(body.uid, body.message as string | object);
    return { uid: body.uid, delivered: online };
  }

  /** Closes a client's connection, after an optional last message. */
  @Post('kick')
  @HttpCode(200)
  async kick(@Body() body: KickRequest) {
    const online = await this.gw.isOnline(body.clientId);
    if (online) await this.gw.closeClient(body.clientId, body.message);
    return { clientId: body.clientId, kicked: online };
  }

  /** Online counts across every gateway. */
  @Get('online')
  async online() {
    const [clients, uids, groups] = await Promise.all([
      this.gw.getAllClientCount(),
      this.gw.getAllUidCount(),
      this.gw.getAllGroupClientIdCount(),
    ]);
    return { clients, uids, groups };
  }

  /** Statistics of every gateway: connections, workers, uptime, counters, memory. */
  @Get('stats')
  async stats() {
    const gateways = await this.gw.getGatewayStats();
    return { gateways, connections: gateways.reduce((n, g) => n + g.connections, 0) };
  }

  /** One client's connection statistics (connected at, messages in and out, uid, groups); 404 when offline. */
  @Get('clients/:clientId')
  async client(@Param('clientId') clientId: string) {
    const info = await this.gw.getClientInfo(clientId);
    if (!info) throw new NotFoundException(`client ${clientId} is not online`);
    return info;
  }

  /** Whether a user is online, and with which client_ids. */
  @Get('online/:uid')
  async uidOnline(@Param('uid') uid: string) {
    const clientIds = await this.gw.getClientIdByUid(uid);
    return { uid, online: clientIds.length > 0, clientIds };
  }
}
