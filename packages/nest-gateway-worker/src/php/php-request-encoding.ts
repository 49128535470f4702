import { encodeClientId, ipv4ToNumber } from '../protocol/client-id';
import { Cmd, cmdName } from '../protocol/command';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { GatewayRequestError, type GatewayRequest } from '../protocol/gateway-request';
import { phpUnserialize } from './php-serialize';
import { toJsonSession, utf8Of, type PhpArray, type PhpKey, type PhpValue } from './php-value';

/** One request in PHP's form and how its reply payload becomes the native result. */
export interface PhpRequest {
  /** The request frame, encoded. */
  bytes: Buffer;
  /** The native-shaped result (see protocol/gateway-request.ts) of the reply payload; throws on a malformed one. */
  result(payload: Buffer): unknown;
}

/** The gateway a request goes to, for rebuilding client_ids from the connection ids PHP replies with. */
export interface PhpGatewayAddress {
  localIp: number;
  localPort: number;
}

export function phpGatewayAddress(address: string): PhpGatewayAddress {
  const colon = address.lastIndexOf(':');
  return { localIp: ipv4ToNumber(address.slice(0, colon)), localPort: Number(address.slice(colon + 1)) };
}

/**
 * A native request (the command and its GatewayRequest parameters, as GatewayClient makes them) in PHP's form, with
 * the mapping of PHP's reply (serialize()d, keyed by connection ids, ids with PHP's key normalisation) to the result
 * GatewayClient expects: booleans for 0/1, client_ids rebuilt from the gateway's address, uids and groups as text,
 * sessions as objects. Throws GatewayRequestError for what PHP's gateways cannot answer: connection statistics
 * (GetClientInfo, GetGatewayStats) and confirmed sends (PHP answers no send).
 */
export function phpRequest(
  fields: Partial<GatewayFrame> & { cmd: Cmd },
  params: GatewayRequest,
  gateway: PhpGatewayAddress,
): PhpRequest {
  const clientId = (id: PhpKey | PhpValue): string =>
    encodeClientId({ localIp: gateway.localIp, localPort: gateway.localPort, connectionId: Number(id) });
  const request = (cmd: Cmd, ext: string | Buffer, result: (v: PhpValue) => unknown, connectionId = 0): PhpRequest => ({
    bytes: encodeFrame(frame({ cmd, connectionId, ext: typeof ext === 'string' ? Buffer.from(ext, 'utf8') : ext })),
    result: (payload) => result(phpUnserialize(payload)),
  });
  const sessionsOf = (v: PhpValue): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [id, session] of entries(v)) out[clientId(id)] = sessionOf(session);
    return out;
  };
  const selectRows = (selectFields: string[], groups?: string[]): string =>
    JSON.stringify({ fields: selectFields, where: groups ? { groups } : [] });
  switch (fields.cmd) {
    case Cmd.IsOnline:
      return request(Cmd.IsOnline, '', (v) => v === 1, fields.connectionId);
    case Cmd.GetSessionByClientId:
      // getSession's reply is the stored session string itself: `a:...`, `a:0:{}` when empty, `N;` when offline.
      return request(Cmd.GetSessionByClientId, '', (v) => (v === null ? null : sessionOf(v)), fields.connectionId);
    case Cmd.GetAllClientSessions:
      return request(Cmd.GetAllClientSessions, '', sessionsOf);
    case Cmd.GetClientSessionsByGroup:
      return request(Cmd.GetClientSessionsByGroup, params.group ?? '', sessionsOf);
    case Cmd.GetClientIdByUid:
      return request(Cmd.GetClientIdByUid, params.uid ?? '', (v) => values(v).map(clientId));
    case Cmd.BatchGetClientIdByUid:
      return request(Cmd.BatchGetClientIdByUid, JSON.stringify(params.uids ?? []), (v) => {
        const out: Record<string, string[]> = {};
        for (const [uid, ids] of entries(v)) out[text(uid)] = values(ids).map(clientId);
        return out;
      });
    case Cmd.GetClientCountByGroup:
      return request(Cmd.GetClientCountByGroup, params.group ?? '', count);
    case Cmd.BatchGetClientCountByGroup:
      if (params.groups) {
        return request(Cmd.BatchGetClientCountByGroup, JSON.stringify(params.groups), (v) => {
          const out: Record<string, number> = {};
          for (const [group, n] of entries(v)) out[text(group)] = count(n);
          return out;
        });
      }
      // Every group: PHP's batch count takes a list, so the groups of every client are counted instead.
      return request(Cmd.Select, selectRows(['groups']), (v) => {
        const out: Record<string, number> = {};
        for (const [, row] of entries(v)) for (const group of groupsOf(row)) out[group] = (out[group] ?? 0) + 1;
        return out;
      });
    case Cmd.GetGroupIdList:
      return request(Cmd.GetGroupIdList, '', (v) => values(v).map(text));
    case Cmd.Select:
      switch (params.select) {
        case 'uid':
          return request(
            Cmd.Select,
            JSON.stringify({
              fields: ['uid'],
              where: { connection_id: { [String(fields.connectionId)]: fields.connectionId } },
            }),
            (v) => {
              const row = field(get(v, fields.connectionId ?? 0), 'uid');
              return row === null ? null : text(row);
            },
          );
        case 'clientIds':
          return request(Cmd.Select, selectRows(['uid'], params.groups), (v) => entries(v).map(([id]) => clientId(id)));
        case 'uids':
          return request(Cmd.Select, selectRows(['uid'], params.groups), (v) => {
            const uids = new Set<string>();
            for (const [, row] of entries(v)) {
              const uid = field(row, 'uid');
              if (uid !== null) uids.add(text(uid));
            }
            return [...uids];
          });
        case 'groupClientIds':
          return request(Cmd.Select, selectRows(['groups']), (v) => {
            const out: Record<string, string[]> = {};
            for (const [id, row] of entries(v))
              for (const group of groupsOf(row)) (out[group] ??= []).push(clientId(id));
            return out;
          });
        case 'groupUids':
          return request(Cmd.Select, selectRows(['uid', 'groups']), (v) => {
            const sets = new Map<string, Set<string>>();
            for (const [, row] of entries(v)) {
              const uid = field(row, 'uid');
              if (uid === null) continue;
              for (const group of groupsOf(row)) {
                let set = sets.get(group);
                if (!set) sets.set(group, (set = new Set()));
                set.add(text(uid));
              }
            }
            return Object.fromEntries([...sets].map(([group, set]) => [group, [...set]]));
          });
        default:
          throw new GatewayRequestError('select is required');
      }
    default:
      throw new GatewayRequestError(
        fields.cmd === Cmd.GetClientInfo || fields.cmd === Cmd.GetGatewayStats
          ? `${cmdName(fields.cmd)} is not available from a PHP gateway (WIRE_PROFILE=php): it has no such statistics`
          : `${cmdName(fields.cmd)} cannot be confirmed by a PHP gateway (WIRE_PROFILE=php): send without { confirm: true }`,
      );
  }
}

function entries(v: PhpValue): [PhpKey, PhpValue][] {
  return v instanceof Map ? [...v] : [];
}

function values(v: PhpValue): PhpValue[] {
  return v instanceof Map ? [...v.values()] : [];
}

function get(v: PhpValue, key: PhpKey): PhpValue {
  return v instanceof Map ? (v.get(key) ?? null) : null;
}

function field(row: PhpValue, name: string): PhpValue {
  return get(row, name);
}

/** A uid, group or key as text (PHP's ints back to their decimal text). */
function text(v: PhpKey | PhpValue): string {
  if (typeof v === 'string') return utf8Of(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return '';
}

function count(v: PhpValue): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}

/** The groups of a SELECT row: the keys of its `groups` map (group => group). */
function groupsOf(row: PhpValue): string[] {
  const groups = field(row, 'groups');
  return groups instanceof Map ? [...(groups as PhpArray).keys()].map(text) : [];
}

/** A stored session string (or an already decoded value) as the object GatewayClient returns ({} when none). */
function sessionOf(v: PhpValue): Record<string, unknown> {
  if (typeof v === 'string') {
    if (v === '') return {};
    try {
      return toJsonSession(phpUnserialize(Buffer.from(v, 'latin1'))) ?? {};
    } catch {
      return {};
    }
  }
  return toJsonSession(v) ?? {};
}
