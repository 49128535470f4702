import {
  ClientId,
  GatewayClient,
  GatewayExceptionFilter,
  MessageBody,
  OnClientClose,
  OnClientMessage,
  Session,
} from 'nest-gateway-worker';
import { BadRequestException, Controller, Inject, UseFilters, UsePipes, ValidationPipe } from '@nestjs/common';
import { LoginMessage, SayMessage } from './chat.dto';

interface ChatSession {
  name?: string;
  room?: string;
}

/**
 * A chat room in the spirit of workerman-chat (the page at `/` uses it through nest-gateway-worker-client). Messages
 * are JSON with a `type`:
 *  - login {name, room, uid?}: joins the room (a group; leaving the previous one), remembers the name in the session,
 *    tells the room, and answers the sender with the room's member list;
 *  - say {content, to?}: to the whole room, or privately to one client (the sender gets a copy);
 *  - online: the member list of the sender's room; rooms: every room with its member count;
 *  - leave: leaves the room and tells it. Disconnecting tells the room too.
 * Refusals (say before login, ...) are exceptions: plain clients get {"type":"error","message":...} from
 * GatewayExceptionFilter, requests of the client library reject with the message.
 */
@Controller()
@UsePipes(new ValidationPipe({ transform: true }))
@UseFilters(new GatewayExceptionFilter())
export class ChatController {
  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {}

  @OnClientMessage('login')
  async login(@ClientId() clientId: string, @MessageBody() body: LoginMessage, @Session() session: ChatSession) {
    if (session.room && session.room !== body.room) await this.leave(clientId, session);
    session.name = body.name;
    session.room = body.room;
    await this.gw.joinGroup(clientId, body.room);
    if (body.uid) await this.gw.bindUid(clientId, body.uid);
    await this.gw.sendToGroup(body.room, { type: 'login', client_id: clientId, client_name: body.name, time: now() }, [
      clientId,
    ]);
    return { type: 'welcome', client_id: clientId, room: body.room, client_list: await this.memberList(body.room) };
  }

  @OnClientMessage('online')
  async online(@Session() session: ChatSession) {
    if (!session.room) throw new BadRequestException('login first');
    return { type: 'online', room: session.room, client_list: await this.memberList(session.room) };
  }

  @OnClientMessage('rooms')
  async rooms() {
    return { type: 'rooms', rooms: await this.gw.getAllGroupClientIdCount() };
  }

  @OnClientMessage('say')
  async say(@ClientId() clientId: string, @MessageBody() body: SayMessage, @Session() session: ChatSession) {
    if (!session.room) throw new BadRequestException('login first');
    const message = {
      type: 'say',
      from_client_id: clientId,
      from_client_name: session.name,
      to_client_id: body.to ?? 'all',
      content: body.content,
      time: now(),
    };
    if (!body.to) return this.gw.sendToGroup(session.room, message);
    await this.gw.sendToClient(body.to, message);
    return message; // the sender's copy of a private message
  }

  @OnClientMessage('leave')
  async leaveRoom(@ClientId() clientId: string, @Session() session: ChatSession) {
    if (!session.room) throw new BadRequestException('not in a room');
    await this.leave(clientId, session);
    return { type: 'left' };
  }

  @OnClientClose()
  async closed(@ClientId() clientId: string, @Session() session: ChatSession) {
    // The gateway has already removed the client from its groups; only the others are told.
    if (session.room) await this.tellRoomLeft(clientId, session.room, session.name);
  }

  /**
   * client_id → name of a room's members, from their sessions (the sender's own entry is its live session, written
   * back after the handler).
   */
  private async memberList(room: string): Promise<Record<string, string>> {
    const members = await this.gw.getClientSessionsByGroup(room);
    return Object.fromEntries(Object.entries(members).map(([id, s]) => [id, (s as ChatSession).name ?? '']));
  }

  private async leave(clientId: string, session: ChatSession): Promise<void> {
    const room = session.room!;
    await this.gw.leaveGroup(clientId, room);
    delete session.room;
    await this.tellRoomLeft(clientId, room, session.name);
  }

  private tellRoomLeft(clientId: string, room: string, name: string | undefined): Promise<void> {
    return this.gw.sendToGroup(room, { type: 'logout', client_id: clientId, client_name: name, time: now() });
  }
}

function now(): string {
  return new Date().toISOString();
}
