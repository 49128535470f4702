import type { ClientConnection } from '../gateway/client-connection';
import type { ClientHub } from '../gateway/client-hub';
import { Cmd } from '../protocol/command';
import type { GatewayFrame } from '../protocol/frame';
import { phpSerialize } from './php-serialize';
import { phpSessionOf } from './php-session';
import { byteString, idKey, phpList, type PhpArray, type PhpValue } from './php-value';

/**
 * The requests a PHP peer may send a gateway (R/R commands), answered as PHP GatewayWorker's gateway answers them:
 * each returns the reply payload (a serialize() string; for CMD 203 the stored session string itself), keyed by
 * connection ids (the caller rebuilds client_ids from the gateway's address), ids and groups with PHP's key
 * normalisation, sessions as the stored strings (so the session lists are serialize()d twice, as PHP's are).
 * Every request gets a payload, whatever its parameters: a PHP caller waits for one (GatewayClient's getSession
 * without a time limit), so what PHP would answer with an empty or zero result is answered so here too.
 */
export const PHP_QUERIES: ReadonlyMap<number, (hub: ClientHub, f: GatewayFrame) => Buffer> = new Map<
  number,
  (hub: ClientHub, f: GatewayFrame) => Buffer
>([
  [Cmd.IsOnline, (hub, f) => phpSerialize(hub.get(f.connectionId) ? 1 : 0)],
  [
    Cmd.GetSessionByClientId,
    (hub, f) => {
      const client = hub.get(f.connectionId);
      if (!client) return N;
      const session = phpSessionOf(client);
      return session.length === 0 ? EMPTY_ARRAY : session;
    },
  ],
  [Cmd.GetAllClientSessions, (hub) => phpSerialize(sessions(hub.table.values()))],
  [
    Cmd.GetClientSessionsByGroup,
    (hub, f) => phpSerialize(sessions(hub.membership.membersOfGroup(textOf(f.ext))?.values() ?? [])),
  ],
  [
    Cmd.GetClientIdByUid,
    (hub, f) => phpSerialize(phpList(connectionIds(hub.membership.connectionsOfUid(textOf(f.ext))))),
  ],
  [
    Cmd.BatchGetClientIdByUid,
    (hub, f) => {
      const out: PhpArray = new Map();
      for (const uid of idsOf(f.ext)) out.set(idKey(uid), phpList(connectionIds(hub.membership.connectionsOfUid(uid))));
      return phpSerialize(out);
    },
  ],
  [
    Cmd.GetClientCountByGroup,
    (hub, f) =>
      // '' = every client; '0' is a group like any other here (PHP compares with !== '').
      phpSerialize(f.ext.length === 0 ? hub.size : (hub.membership.membersOfGroup(textOf(f.ext))?.size ?? 0)),
  ],
  [
    Cmd.BatchGetClientCountByGroup,
    (hub, f) => {
      const out: PhpArray = new Map();
      for (const group of idsOf(f.ext)) out.set(idKey(group), hub.membership.membersOfGroup(group)?.size ?? 0);
      return phpSerialize(out);
    },
  ],
  [Cmd.GetGroupIdList, (hub) => phpSerialize(phpList([...hub.membership.groupIds()].map(idKey)))],
  [Cmd.Select, (hub, f) => phpSerialize(select(hub, f.ext))],
]);

const N = Buffer.from('N;');
const EMPTY_ARRAY = Buffer.from('a:0:{}');

/** A uid or group sent as plain text (ext_data). */
function textOf(ext: Buffer): string {
  return ext.toString('utf8');
}

/** `[connection_id => stored session string]`. */
function sessions(clients: Iterable<ClientConnection>): PhpArray {
  const out: PhpArray = new Map();
  for (const client of clients) out.set(client.id, phpSessionOf(client).toString('latin1'));
  return out;
}

function connectionIds(clients: Iterable<ClientConnection> | undefined): number[] {
  const ids: number[] = [];
  for (const client of clients ?? []) ids.push(client.id);
  return ids;
}

/**
 * The ids of a JSON list of uids or groups (cmds 14, 16, 28): strings and integers (PHP's array keys: 42 and "42"
 * are one id); anything else in the list, or ext that is not a JSON list or object, names nobody.
 */
export function idsOf(ext: Buffer): string[] {
  let value: unknown;
  try {
    value = JSON.parse(ext.toString('utf8'));
  } catch {
    return [];
  }
  return idsIn(value);
}

/** The uids or groups of a decoded JSON list (or object, by its values); see {@link idsOf}. */
export function idsIn(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  const out: string[] = [];
  for (const item of Object.values(value)) {
    if (typeof item === 'string') out.push(item);
    else if (typeof item === 'number' && Number.isInteger(item)) out.push(String(item));
  }
  return out;
}

/**
 * CMD_SELECT: ext `{"fields": [...], "where": [] | {"groups": [...], "uid": [...], "connection_id": {id: id} | [...]}}`
 * → `[connection_id => [field => value]]`. A connection matching several conditions is listed once, in the order
 * PHP finds them (where keys in order, then their items, then members in join order). Fields: `uid` (the uid or
 * null), `groups` (`[group => group]`, or null for a connection in none), `session` (the stored string); any other
 * field is null (PHP would read any property of its connection object).
 */
function select(hub: ClientHub, ext: Buffer): PhpArray {
  const out: PhpArray = new Map();
  let request: { fields?: unknown; where?: unknown } | null;
  try {
    request = JSON.parse(ext.toString('utf8')) as { fields?: unknown; where?: unknown } | null;
  } catch {
    return out;
  }
  if (typeof request !== 'object' || request === null) return out;
  const fields = Array.isArray(request.fields) ? request.fields.filter((x) => typeof x === 'string') : [];
  const row = (client: ClientConnection): PhpArray => {
    const values: PhpArray = new Map();
    for (const field of fields) values.set(idKey(field), fieldOf(client, field));
    return values;
  };
  const where = request.where;
  const hasWhere =
    typeof where === 'object' &&
    where !== null &&
    (Array.isArray(where) ? where.length > 0 : Object.keys(where).length > 0);
  if (!hasWhere) {
    if (fields.length > 0) for (const client of hub.table.values()) out.set(client.id, row(client));
    return out;
  }
  for (const [key, items] of Object.entries(where as Record<string, unknown>)) {
    if (typeof items !== 'object' || items === null) continue;
    const list = Object.values(items);
    if (key === 'connection_id') {
      for (const id of list) {
        const client = typeof id === 'number' || typeof id === 'string' ? hub.get(Number(id)) : undefined;
        if (client) out.set(client.id, row(client));
      }
      continue;
    }
    if (key !== 'groups' && key !== 'uid') continue;
    for (const item of list) {
      if (typeof item !== 'string' && typeof item !== 'number') continue;
      const members =
        key === 'groups' ? hub.membership.membersOfGroup(String(item)) : hub.membership.connectionsOfUid(String(item));
      for (const client of members ?? []) if (!out.has(client.id)) out.set(client.id, row(client));
    }
  }
  return out;
}

function fieldOf(client: ClientConnection, field: string): PhpValue {
  switch (field) {
    case 'uid':
      return client.uid === null ? null : byteString(client.uid);
    case 'groups': {
      if (client.groups === null) return null;
      const groups: PhpArray = new Map();
      for (const group of client.groups) groups.set(idKey(group), byteString(group));
      return groups;
    }
    case 'session':
      return phpSessionOf(client).toString('latin1');
    default:
      return null;
  }
}
