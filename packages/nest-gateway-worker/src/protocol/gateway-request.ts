import { isSendableCloseCode } from './close-reason';
import { Cmd } from './command';
import { encodeFrame, frame } from './frame';

/**
 * Parameters of the commands workers and SDK clients send to a gateway, native profile. They travel as a JSON
 * object in ext_data; the client message of a send command is the frame body (raw bytes, flag Binary for
 * binary messages). A single-client command names its target in the header's connection_id. Uids and groups
 * are non-empty strings (the SDK turns numbers into strings, so 42 and "42" are the same uid).
 *
 * Request/response commands carry `rid`, a request id unique on the link; the gateway answers with a
 * {@link Cmd.Reply} frame whose connection_id is that id, so many requests can be in flight on one link and
 * be answered in any order.
 *
 * Confirmed sends: a send or close (SendToOne, SendToAll, SendToUid, SendToGroup, Kick, Destroy, CloseWithReason)
 * may carry `rid` too; the gateway then answers, after executing it, with a Reply whose result is the number of
 * connections the message was handed to (closed, for the closes). SendToOne, Kick and Destroy otherwise have an
 * empty ext; confirmed, their ext is `{"rid":n}`. Without a rid they are answered with nothing (fire-and-forget).
 *
 * | cmd | ext | reply (JSON body) |
 * |---|---|---|
 * | SendToAll | `{}` (or empty ext) = every client; `{"connections":[connId…]}` = only those; `"exclude":[connId…]` skips those | – |
 * | SendToUid | `{"uids":[uid…]}` | – |
 * | SendToGroup | `{"groups":[group…],"exclude"?:[connId…]}`; a client in two listed groups gets it once | – |
 * | BindUid | `{"uid":uid}` + connection_id | – |
 * | UnbindUid | `{}` + connection_id | – |
 * | JoinGroup / LeaveGroup | `{"group":group}` + connection_id | – |
 * | Ungroup | `{"group":group}` | – |
 * | IsOnline | `{"rid"}` + connection_id | `true` / `false` |
 * | GetSessionByClientId | `{"rid"}` + connection_id | the session (`{}` when none), `null` when no such client |
 * | GetAllClientSessions | `{"rid"}` | `{clientId: session}` |
 * | GetClientSessionsByGroup | `{"rid","group"}` | `{clientId: session}` |
 * | GetClientIdByUid | `{"rid","uid"}` | `[clientId…]` |
 * | BatchGetClientIdByUid | `{"rid","uids":[…]}` | `{uid: [clientId…]}`, one key per requested uid |
 * | GetClientCountByGroup | `{"rid","group"?}` (no group = all clients) | `count` |
 * | BatchGetClientCountByGroup | `{"rid","groups"?:[…]}` (no groups = every group) | `{group: count}` |
 * | GetGroupIdList | `{"rid"}` | `[group…]` |
 * | Select | `{"rid","select":"uid"}` + connection_id | the uid or `null` |
 * | Select | `{"rid","select":"clientIds","groups"?:[…]}` | `[clientId…]` of all clients or the groups' members |
 * | Select | `{"rid","select":"uids","groups"?:[…]}` | distinct `[uid…]` of all clients or the groups' members |
 * | Select | `{"rid","select":"groupClientIds"}` | `{group: [clientId…]}` |
 * | Select | `{"rid","select":"groupUids"}` | `{group: [uid…]}` (distinct uids per group) |
 * | CloseWithReason | `{"code"?,"reason"?}` + connection_id; body = last message (optional) | – |
 * | RejectConnection | `{"code"?,"reason"?}` + connection_id | – |
 * | GetClientInfo | `{"rid"}` + connection_id | ClientInfo, `null` when no such client |
 * | GetGatewayStats | `{"rid"}` | GatewayStats |
 *
 * `code` is a WebSocket close code an application may send (1000, 1001, 1008, 1011, 1013, 3000-4999); the
 * gateway cuts `reason` to the 123 bytes a close frame can carry.
 *
 * client_ids in replies are built by the gateway from its own address, so callers need no rebuilding.
 */
export interface GatewayRequest {
  rid?: number;
  uid?: string;
  uids?: string[];
  group?: string;
  groups?: string[];
  connections?: number[];
  exclude?: number[];
  select?: SelectWhat;
  /** CloseWithReason / RejectConnection: the WebSocket close code. */
  code?: number;
  /** CloseWithReason / RejectConnection: the close reason. */
  reason?: string;
}

export type SelectWhat = 'uid' | 'clientIds' | 'uids' | 'groupClientIds' | 'groupUids';

export const SELECT_WHAT: readonly SelectWhat[] = ['uid', 'clientIds', 'uids', 'groupClientIds', 'groupUids'];

/** Serialises request parameters into ext bytes. */
export function encodeRequest(request: GatewayRequest): Buffer {
  return Buffer.from(JSON.stringify(request), 'utf8');
}

/**
 * Parses and validates the ext of a command: a JSON object (empty ext = `{}`) whose fields have the types
 * above and whose uids and groups are non-empty strings. Throws {@link GatewayRequestError} with the reason.
 */
export function decodeRequest(ext: Buffer): GatewayRequest {
  if (ext.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(ext.toString('utf8'));
  } catch {
    throw new GatewayRequestError('ext_data is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayRequestError('ext_data must be a JSON object');
  }
  const r = value as Record<string, unknown>;
  if (r.rid !== undefined && !isU32(r.rid)) throw new GatewayRequestError('rid must be an integer 0..2^32-1');
  for (const key of ['uid', 'group'] as const) {
    if (r[key] !== undefined && !isId(r[key])) throw new GatewayRequestError(`${key} must be a non-empty string`);
  }
  for (const key of ['uids', 'groups'] as const) {
    if (r[key] !== undefined && !(Array.isArray(r[key]) && (r[key] as unknown[]).every(isId))) {
      throw new GatewayRequestError(`${key} must be a list of non-empty strings`);
    }
  }
  for (const key of ['connections', 'exclude'] as const) {
    if (r[key] !== undefined && !(Array.isArray(r[key]) && (r[key] as unknown[]).every(isU32))) {
      throw new GatewayRequestError(`${key} must be a list of connection ids`);
    }
  }
  if (r.select !== undefined && !SELECT_WHAT.includes(r.select as SelectWhat)) {
    throw new GatewayRequestError(`select must be one of ${SELECT_WHAT.join(', ')}`);
  }
  if (r.code !== undefined && !isSendableCloseCode(r.code)) {
    throw new GatewayRequestError('code must be a WebSocket close code: 1000, 1001, 1008, 1011, 1013 or 3000-4999');
  }
  if (r.reason !== undefined && typeof r.reason !== 'string') throw new GatewayRequestError('reason must be a string');
  return r as GatewayRequest;
}

/**
 * The request id of a command whose parameters failed {@link decodeRequest}, when it is still readable, so the
 * request can be failed with the reason instead of left to time out.
 */
export function readRequestId(ext: Buffer): number | undefined {
  try {
    const rid: unknown = (JSON.parse(ext.toString('utf8')) as { rid?: unknown } | null)?.rid;
    return isU32(rid) ? rid : undefined;
  } catch {
    return undefined;
  }
}

/** A Reply frame carrying `resultJson` (already serialised: the gateway splices stored sessions in as text). */
export function encodeReply(rid: number, resultJson: string): Buffer {
  return encodeFrame(frame({ cmd: Cmd.Reply, connectionId: rid, body: Buffer.from(resultJson, 'utf8') }));
}

/** A Reply frame that fails request `rid` with `message`. */
export function encodeErrorReply(rid: number, message: string): Buffer {
  return encodeFrame(
    frame({ cmd: Cmd.Reply, connectionId: rid, ext: Buffer.from(JSON.stringify({ error: message })) }),
  );
}

/** The outcome carried by a Reply frame: the parsed result, or a GatewayRequestError from the gateway. */
export function decodeReply(ext: Buffer, body: Buffer): unknown {
  if (ext.length > 0) {
    let message = 'request failed';
    try {
      message = String((JSON.parse(ext.toString('utf8')) as { error?: unknown }).error ?? message);
    } catch {
      // keep the generic message
    }
    throw new GatewayRequestError(message);
  }
  return JSON.parse(body.toString('utf8'));
}

/** A command the gateway could not carry out because its parameters are wrong. */
export class GatewayRequestError extends Error {
  override name = 'GatewayRequestError';
}

function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}
