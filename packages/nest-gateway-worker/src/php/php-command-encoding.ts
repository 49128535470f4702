import { Cmd, FrameFlag } from '../protocol/command';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { decodeRequest, GatewayRequestError, type GatewayRequest } from '../protocol/gateway-request';
import { parseSessionJson } from '../protocol/session-json';
import { phpSerialize } from './php-serialize';
import { fromJson } from './php-value';

const EMPTY = Buffer.alloc(0);
const N = Buffer.from('N;');

/**
 * What a native command frame becomes on PHP's wire (reference/php-interop.md §4), for a worker or GatewayClient of
 * the php profile: the same command code with PHP's parameter encodings (uid and group as plain text, uid lists as
 * JSON lists, id-keyed `connections` / `exclude` maps, `{"group": [...], "exclude": null | {...}}`, serialize()d
 * sessions) and PHP's body rule (flag 1 = raw bytes; Kick without message = `N;` with flag 0). Native-only commands
 * have no PHP form: CloseWithReason and RejectConnection become a Kick (PHP has no close code or reason), EventAck
 * and Ping are dropped (undefined), so a PHP gateway never receives a command 100-113. Throws GatewayRequestError
 * for parameters that do not decode.
 */
export function phpCommandFrame(f: GatewayFrame): GatewayFrame | undefined {
  const base = { connectionId: f.connectionId };
  switch (f.cmd) {
    case Cmd.SendToOne:
      return frame({ ...base, cmd: Cmd.SendToOne, body: f.body, flag: FrameFlag.BodyIsScalar });
    case Cmd.Destroy:
      return frame({ ...base, cmd: Cmd.Destroy });
    case Cmd.Kick:
    case Cmd.CloseWithReason:
      return kick(f.connectionId, f.body);
    case Cmd.RejectConnection:
      return kick(f.connectionId, EMPTY);
    case Cmd.SendToAll:
      return frame({ cmd: Cmd.SendToAll, ext: sendToAllExt(params(f)), body: f.body, flag: FrameFlag.BodyIsScalar });
    case Cmd.SendToUid:
      return frame({ cmd: Cmd.SendToUid, ext: json(params(f).uids ?? []), body: f.body, flag: FrameFlag.BodyIsScalar });
    case Cmd.SendToGroup: {
      const r = params(f);
      const ext = json({ group: r.groups ?? [], exclude: r.exclude?.length ? idMap(r.exclude) : null });
      return frame({ cmd: Cmd.SendToGroup, ext, body: f.body, flag: FrameFlag.BodyIsScalar });
    }
    case Cmd.BindUid:
      return frame({ ...base, cmd: Cmd.BindUid, ext: Buffer.from(params(f).uid ?? '', 'utf8') });
    case Cmd.UnbindUid:
      return frame({ ...base, cmd: Cmd.UnbindUid });
    case Cmd.JoinGroup:
    case Cmd.LeaveGroup:
    case Cmd.Ungroup:
      return frame({ ...base, cmd: f.cmd, ext: Buffer.from(params(f).group ?? '', 'utf8') });
    case Cmd.SetSession:
    case Cmd.UpdateSession:
      return frame({ ...base, cmd: f.cmd, ext: phpSessionBytes(f.ext) });
    default:
      return undefined;
  }
}

/** phpCommandFrame, encoded; null when the command has no PHP form. */
export function phpCommandBytes(f: GatewayFrame): Buffer | null {
  const out = phpCommandFrame(f);
  return out ? encodeFrame(out) : null;
}

/** closeClient: the last message (flag 1) when there is one, else serialize(null) with flag 0, as PHP's closeClient. */
function kick(connectionId: number, body: Buffer): GatewayFrame {
  return body.length > 0
    ? frame({ cmd: Cmd.Kick, connectionId, body, flag: FrameFlag.BodyIsScalar })
    : frame({ cmd: Cmd.Kick, connectionId, body: N, flag: 0 });
}

function params(f: GatewayFrame): GatewayRequest {
  return decodeRequest(f.ext);
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Connection ids as PHP's id-keyed map `{"3": 3}`. */
function idMap(ids: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[String(id)] = id;
  return out;
}

/**
 * SendToAll: `connections` minus `exclude` as PHP's `{"connections": {...}}` (PHP's GatewayClient removes the excluded
 * ids itself), `exclude` alone as `{"exclude": {...}}`, neither as ''.
 */
function sendToAllExt(r: GatewayRequest): Buffer {
  if (r.connections) {
    const except = new Set(r.exclude ?? []);
    return json({ connections: idMap(r.connections.filter((id) => !except.has(id))) });
  }
  return r.exclude?.length ? json({ exclude: idMap(r.exclude) }) : EMPTY;
}

/** A session written by our side (JSON; empty or null = none) as PHP stores it: '' or serialize(). */
export function phpSessionBytes(jsonExt: Buffer): Buffer {
  let session: Record<string, unknown> | null;
  try {
    session = parseSessionJson(jsonExt);
  } catch (err) {
    throw new GatewayRequestError(`session is not JSON: ${(err as Error).message}`);
  }
  return session === null ? EMPTY : phpSerialize(fromJson(session));
}
