import type { ClientHub } from '../gateway/client-hub';
import { resolveTargets, type Target, type TargetVisitor } from '../gateway/commands/targets';
import { OutgoingMessage } from '../gateway/outgoing-message';
import { DEFAULT_CLOSE_CODE } from '../protocol/close-reason';
import { Cmd } from '../protocol/command';
import type { GatewayFrame } from '../protocol/frame';
import { PHP_NULL_MESSAGE, phpClientMessage } from './php-message';
import { idsIn, idsOf } from './php-queries';
import { PhpSerializeError } from './php-serialize';
import { setPhpSession, updatePhpSession } from './php-session';

/** Reports a command that was not carried out, or carried out with a problem (rate-limited by the caller). */
export type PhpCommandWarning = (cmd: number, reason: string) => void;

/**
 * The fire-and-forget commands of a PHP peer (a BusinessWorker on its worker link, a GatewayClient), with PHP's
 * parameter encodings (reference/php-interop.md §4): plain-text uid and group in ext, JSON lists of uids and groups,
 * id-keyed `connections` / `exclude` maps, `{"group": [...], "exclude": null | {id: id}}`, serialize()d sessions,
 * and PHP's message body rule (see phpClientMessage). They run on the gateway's own state (the hub), like the
 * native commands: PHP and Nest workers of one gateway see the same clients, uids, groups and sessions.
 *
 * Where PHP's gateway and this one differ on purpose: a client in two groups of one sendToGroup gets the message once
 * (PHP: twice); a kicked WebSocket client gets a close frame 1000 (PHP: none, 1006); a command whose JSON parameters
 * do not parse is dropped with a warning (PHP would broadcast a SendToAll to everyone).
 */
export const PHP_COMMANDS: ReadonlyMap<number, (hub: ClientHub, f: GatewayFrame, warn: PhpCommandWarning) => void> =
  new Map<number, (hub: ClientHub, f: GatewayFrame, warn: PhpCommandWarning) => void>([
    [
      Cmd.SendToOne,
      (hub, f) => {
        const client = hub.get(f.connectionId);
        if (client) hub.send(client, sendable(f));
      },
    ],
    [Cmd.SendToAll, sendToAll],
    [
      Cmd.Kick,
      (hub, f) => {
        const client = hub.get(f.connectionId);
        if (!client) return;
        // As workerman's close($data): any message but null (N;) is sent first, even an empty one.
        const last = phpClientMessage(f);
        if (last !== null) hub.send(client, last);
        hub.close(client, { code: DEFAULT_CLOSE_CODE, reason: '' });
      },
    ],
    [
      Cmd.Destroy,
      (hub, f) => {
        const client = hub.get(f.connectionId);
        if (client) hub.destroy(client);
      },
    ],
    [
      Cmd.BindUid,
      (hub, f) => {
        const uid = phpId(f.ext);
        const client = hub.get(f.connectionId);
        if (uid !== null && client) hub.membership.bindUid(client, uid);
      },
    ],
    [
      Cmd.UnbindUid,
      (hub, f) => {
        // PHP sends the uid and ignores it: whatever uid the connection has is unbound.
        const client = hub.get(f.connectionId);
        if (client) hub.membership.unbindUid(client);
      },
    ],
    [Cmd.SendToUid, (hub, f) => sendTo(hub, { uids: idsOf(f.ext) }, f)],
    [
      Cmd.JoinGroup,
      (hub, f) => {
        const group = phpId(f.ext);
        const client = hub.get(f.connectionId);
        if (group !== null && client) hub.membership.joinGroup(client, group);
      },
    ],
    [
      Cmd.LeaveGroup,
      (hub, f) => {
        const group = phpId(f.ext);
        const client = hub.get(f.connectionId);
        if (group !== null && client) hub.membership.leaveGroup(client, group);
      },
    ],
    [
      Cmd.Ungroup,
      (hub, f) => {
        const group = phpId(f.ext);
        if (group !== null) hub.membership.ungroup(group);
      },
    ],
    [Cmd.SendToGroup, sendToGroup],
    [
      Cmd.SetSession,
      (hub, f, warn) => {
        const client = hub.get(f.connectionId);
        if (!client) return;
        const problem = setPhpSession(client, f.ext);
        if (problem) warn(f.cmd, `client ${client.id}: stored as sent, native workers see no session (${problem})`);
      },
    ],
    [
      Cmd.UpdateSession,
      (hub, f, warn) => {
        const client = hub.get(f.connectionId);
        if (!client) return;
        try {
          const problem = updatePhpSession(client, f.ext);
          if (problem) warn(f.cmd, `client ${client.id}: stored as sent, native workers see no session (${problem})`);
        } catch (err) {
          if (!(err instanceof PhpSerializeError)) throw err;
          warn(f.cmd, `client ${client.id}: session not updated (${err.message})`);
        }
      },
    ],
    // Gateway keep-alive: a PHP peer never sends it to a gateway; nothing to do if one does.
    [Cmd.Ping, () => undefined],
  ]);

/**
 * A uid or group as PHP's gateway takes it from ext: plain text, refused when PHP's empty() is true ('' and '0').
 */
function phpId(ext: Buffer): string | null {
  const text = ext.toString('utf8');
  return text === '' || text === '0' ? null : text;
}

/** The message of a send: the body by PHP's rule; a serialized null is sent as the text "null", as workerman does. */
function sendable(f: GatewayFrame): OutgoingMessage {
  return phpClientMessage(f) ?? new OutgoingMessage(PHP_NULL_MESSAGE, false);
}

const handTo: TargetVisitor<OutgoingMessage> = (hub, client, m) => hub.send(client, m);

function sendTo(hub: ClientHub, target: Target, f: GatewayFrame): void {
  resolveTargets(hub, target, handTo, sendable(f));
}

/** JSON ext of cmds 6 and 22; undefined when it does not parse (the command is dropped). */
function jsonExt(ext: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(ext.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Connection ids listed by value (`connections`, a map or a list). */
function idValues(v: unknown): number[] {
  if (typeof v !== 'object' || v === null) return [];
  return Object.values(v).flatMap((id) => (typeof id === 'number' || typeof id === 'string' ? [Number(id)] : []));
}

/**
 * An `exclude` map: PHP tests `isset($exclude[$connection_id])`, so the connection ids are its keys (GatewayClient
 * and Lib\Gateway write `{"<id>": <id>}`; a JSON list would exclude by index, as in PHP).
 */
function idKeys(v: unknown): number[] {
  if (typeof v !== 'object' || v === null) return [];
  return Object.keys(v).map(Number);
}

/** CMD_SEND_TO_ALL: ext '' = every client; `{"connections": {...}}` only those; `{"exclude": {...}}` all but those. */
function sendToAll(hub: ClientHub, f: GatewayFrame, warn: PhpCommandWarning): void {
  if (f.ext.length === 0) return sendTo(hub, { all: true }, f);
  const ext = jsonExt(f.ext);
  if (!ext) return warn(f.cmd, 'ext_data is not JSON');
  if (ext.connections !== undefined && ext.connections !== null) {
    return sendTo(hub, { connections: idValues(ext.connections) }, f);
  }
  sendTo(hub, { all: true, except: idKeys(ext.exclude) }, f);
}

/** CMD_SEND_TO_GROUP: ext `{"group": [g, ...], "exclude": null | {"<id>": <id>}}`. */
function sendToGroup(hub: ClientHub, f: GatewayFrame, warn: PhpCommandWarning): void {
  const ext = jsonExt(f.ext);
  if (!ext) return warn(f.cmd, 'ext_data is not JSON');
  const groups = typeof ext.group === 'string' ? [ext.group] : idsIn(ext.group);
  if (groups.length === 0) return;
  sendTo(hub, { groups, except: idKeys(ext.exclude) }, f);
}
