import {
  ClientId,
  GatewayClient,
  GatewayExceptionFilter,
  MessageBody,
  OnClientClose,
  OnClientMessage,
  Session,
  type RecoverResult,
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
 *  - login {name, room, uid?, since?}: joins the room (a group; leaving the previous one), remembers the name in the
 *    session, tells the room, and answers the sender with the room's member list;
 *  - say {content, to?}: to the whole room, or privately to one client (the sender gets a copy);
 *  - online: the member list of the sender's room; rooms: every room with its member count;
 *  - leave: leaves the room and tells it. Disconnecting tells the room too.
 * Refusals (say before login, ...) are exceptions: plain clients get {"type":"error","message":...} from
 * GatewayExceptionFilter, requests of the client library reject with the message.
 *
 * With the Redis backplane (GATEWAY_BACKPLANE) the room keeps a history: room messages and the join and leave
 * notices are sent with `{ history: true }` (delivered with `$offset` and `$stream`), and login joins through
 * `recover`, so a page that rejoins with `since` (its last position in the room) first gets, in order, what it
 * missed, then live messages; the welcome says whether that was everything (`recovered`, `reason`, `replayed`) and
 * carries the room's position (`$offsets`). Without the backplane none of this happens: `since` is ignored and the
 * welcome is as before.
 */
@Controller()
@UsePipes(new ValidationPipe({ transform: true }))
@UseFilters(new GatewayExceptionFilter())
export class ChatController {
  /** Whether the worker runs with the Redis backplane, which keeps the rooms' history (fixed at start-up). */
  private readonly hasHistory: boolean;

  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {
    this.hasHistory = gw.getBackplaneStatus() !== null;
  }

  @OnClientMessage('login')
  async login(@ClientId() clientId: string, @MessageBody() body: LoginMessage, @Session() session: ChatSession) {
    if (session.room && session.room !== body.room) await this.leave(clientId, session);
    session.name = body.name;
    session.room = body.room;
    // With the history: joins, then replays what came after `since` (a stranger's bad `since` is answered as data).
    const recovery = this.hasHistory ? await this.gw.recover(clientId, 'group', body.room, body.since) : null;
    if (!recovery) await this.gw.joinGroup(clientId, body.room);
    if (body.uid) await this.gw.bindUid(clientId, body.uid);
    const told = await this.tellRoom(
      body.room,
      { type: 'login', client_id: clientId, client_name: body.name, time: now() },
      [clientId],
    );
    return {
      type: 'welcome',
      client_id: clientId,
      room: body.room,
      client_list: await this.memberList(body.room),
      ...(recovery ? recoveryFields(recovery, told) : {}),
    };
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
    if (!body.to) {
      // Nothing to answer: the sender's copy comes through the room. Not kept (Redis failing): not sent either.
      if (this.hasHistory) await this.gw.sendToGroup(session.room, message, null, HISTORY);
      else await this.gw.sendToGroup(session.room, message);
      return;
    }
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

  private async tellRoomLeft(clientId: string, room: string, name: string | undefined): Promise<void> {
    await this.tellRoom(room, { type: 'logout', client_id: clientId, client_name: name, time: now() });
  }

  /**
   * A join or leave notice to the room. With the history it is kept too (resolving with its position), so that a
   * member who joined a room without history yet has a position from the next notice or message, and a page that
   * was away sees who came and went; when it cannot be kept (Redis failing) it is sent all the same, without one.
   */
  private async tellRoom(room: string, notice: object, exclude: string[] = []): Promise<string | undefined> {
    if (this.hasHistory) {
      try {
        return (await this.gw.sendToGroup(room, notice, exclude, HISTORY)).position;
      } catch {
        // not kept: delivered below, like a room without history
      }
    }
    await this.gw.sendToGroup(room, notice, exclude);
    return undefined;
  }
}

/** Room messages are kept with the default history (the last 100, for 5 minutes after the latest one). */
const HISTORY = { history: true } as const;

/**
 * What the welcome tells the page of its recovery: whether it has everything (`recovered`; else `reason`, e.g.
 * `trimmed`, `epoch`, or `no-position` on a first join), how many messages were replayed before the welcome, and the
 * room's position under its stream name, which the page keeps for its next rejoin: the position of its own join
 * notice (`told`; it has everything before it, replayed or live since the join, and the notice is its own), else the
 * one recover read (none when the room has no history and the notice could not be kept).
 */
function recoveryFields(r: RecoverResult, told: string | undefined) {
  const position = told || r.position;
  return {
    recovered: r.recovered,
    reason: r.reason ?? null,
    replayed: r.replayed,
    ...(position ? { $offsets: { [r.stream]: position } } : {}),
  };
}

function now(): string {
  return new Date().toISOString();
}
