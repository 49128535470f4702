/**
 * Command codes of the inner protocol. The numbers are PHP GatewayWorker's GatewayProtocol codes
 * (reference/php-gatewayworker-spec.md §2.4), kept so that the "php" wire profile (src/php) can talk to PHP peers.
 * Codes 2, 17-19 and 29-199 are unused by PHP; the native profile adds its own commands in 100-199.
 */
export enum Cmd {
  /** G→W: a client connected. */
  OnConnect = 1,
  /** G→W: a complete client message. */
  OnMessage = 3,
  /** G→W: a client closed (carries the last session). */
  OnClose = 4,
  /** →G: send a message to one connection. */
  SendToOne = 5,
  /** →G: broadcast to all (or listed) connections of one gateway. */
  SendToAll = 6,
  /** →G: close a connection, optionally after a last message. */
  Kick = 7,
  /** →G: destroy a connection at once, pending output discarded. */
  Destroy = 8,
  /** →G: merge into the session of one connection (ext: session JSON patch). */
  UpdateSession = 9,
  /** →G R/R: every connection's session. */
  GetAllClientSessions = 10,
  IsOnline = 11,
  /** →G: bind a uid to one connection, replacing its previous uid. */
  BindUid = 12,
  UnbindUid = 13,
  SendToUid = 14,
  GetClientIdByUid = 15,
  BatchGetClientIdByUid = 16,
  JoinGroup = 20,
  LeaveGroup = 21,
  SendToGroup = 22,
  GetClientSessionsByGroup = 23,
  GetClientCountByGroup = 24,
  /** →G R/R: the CMD_SELECT family (uid of a client, id/uid lists, per-group maps); see GatewayRequest. */
  Select = 25,
  GetGroupIdList = 26,
  Ungroup = 27,
  BatchGetClientCountByGroup = 28,
  /**
   * Native G→W/C: the answer to a request (R/R command). connection_id = the request id, body = JSON result;
   * a non-empty ext is JSON `{"error": "..."}` and means the request failed.
   */
  Reply = 100,
  // 101-109: event acknowledgement, worker drain and dead letters.
  /**
   * Native W→G: events handled (or dropped) by the worker. body = (u32 first, u32 last) big-endian pairs of
   * inclusive ranges of the per-link event sequence numbers carried in the envelope's `q` (see event-ack.ts).
   */
  EventAck = 101,
  /** Native W→G: the worker is shutting down; route no new events to it (its clients move elsewhere). */
  WorkerDraining = 102,
  /** Native G→W: answer to WorkerDraining; every event this gateway will send on the link is before it. */
  WorkerDrained = 103,
  /**
   * Native G→W: a client event that was in flight at `maxEventDeaths` worker deaths (see delivery-limit.ts), for
   * the worker's `@OnDeadLetter()` handler; sent only to workers that announced one (WorkerConnect
   * `"dead_letters": true`), at most once, never acknowledged. Header as the event's; ext = JSON
   * `{"kind","deaths","uid"?}` (dead-letter-frame.ts); body = the event's body.
   */
  DeadLetter = 104,
  // 110-119: connection hooks (close with a code, rejection by a worker, connection statistics).
  /** →G: close one connection with a WebSocket close code and reason (ext `{"code","reason"?}`), after the body if any. */
  CloseWithReason = 110,
  /**
   * W→G: a worker rejected the connection (its connect handler threw or called rejectConnection): close it with
   * ext `{"code","reason"?}`, count it in connectionsRejected, and forward none of its later messages.
   */
  RejectConnection = 111,
  /** →G R/R: connection statistics of one client (connected at, messages in/out, listener, uid, groups). */
  GetClientInfo = 112,
  /** →G R/R: this gateway's connection, worker and counter statistics. */
  GetGatewayStats = 113,
  /** W→G: first frame of a worker link; body is JSON `{"worker_key": "..."}`. */
  WorkerConnect = 200,
  /** G→W: keep-alive. */
  Ping = 201,
  /** C→G: first frame of a GatewayClient (SDK) link. */
  GatewayClientConnect = 202,
  GetSessionByClientId = 203,
  /** →G: replace the whole session of one connection. */
  SetSession = 204,
  OnWebSocketConnect = 205,
}

/** Header flag bits (byte 21). */
export const enum FrameFlag {
  /** PHP: body is a scalar (raw bytes), not PHP-serialized. */
  BodyIsScalar = 0x01,
  /** PHP: body is already framed for the client protocol; write it as is. */
  NotCallEncode = 0x02,
  /** Native: the client message is binary (a WebSocket binary frame in, a binary frame out). */
  Binary = 0x04,
}

const names = new Map<number, string>(
  Object.entries(Cmd)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

/** Human name of a command code, for logs ("OnMessage", or "cmd 99" for unknown codes). */
export function cmdName(cmd: number): string {
  return names.get(cmd) ?? `cmd ${cmd}`;
}
