import { DEFAULT_CLOSE_CODE, DEFAULT_REJECT_CODE, truncateCloseReason } from '../../protocol/close-reason';
import { Cmd, FrameFlag } from '../../protocol/command';
import type { GatewayFrame } from '../../protocol/frame';
import type { GatewayRequest } from '../../protocol/gateway-request';
import type { ClientHub } from '../client-hub';
import type { CloseReason } from '../close-codes';
import { OutgoingMessage } from '../outgoing-message';
import { action, direct, type CommandContext, type CommandRow } from './command-row';
import { resolveTargets, type Target, type TargetVisitor } from './targets';

/** Kick: a normal close, no reason. */
const KICK_CLOSE: CloseReason = { code: DEFAULT_CLOSE_CODE, reason: '' };

/**
 * Sends and closes. Each returns the number of connections it reached (handed the message, or closed), which
 * a confirmed send (a rid in ext) answers with. A send to many clients hands every recipient the same
 * {@link OutgoingMessage}, so the message is framed once.
 */
export const SEND_COMMANDS: readonly CommandRow[] = [
  direct(Cmd.SendToOne, ({ hub }, f) => {
    const client = hub.get(f.connectionId);
    return client !== undefined && hub.send(client, message(f)) ? 1 : 0;
  }),
  direct(Cmd.Kick, ({ hub }, f) => {
    const client = hub.get(f.connectionId);
    if (client === undefined) return 0;
    const open = client.socket.isOpen;
    if (f.body.length > 0) hub.send(client, message(f));
    hub.close(client, KICK_CLOSE);
    return open ? 1 : 0;
  }),
  direct(Cmd.Destroy, ({ hub }, f) => {
    const client = hub.get(f.connectionId);
    if (client === undefined) return 0;
    hub.destroy(client);
    return 1;
  }),
  // `connections` = only those (each once, however often listed); `exclude` = all but those; both = the listed
  // ones minus the excluded ones; neither = every connection.
  action(Cmd.SendToAll, [], ({ hub }, f, r) =>
    sendTo(
      hub,
      r.connections ? { connections: r.connections, except: r.exclude } : { all: true, except: r.exclude },
      f,
    ),
  ),
  action(Cmd.SendToUid, ['uids'], ({ hub }, f, r) => sendTo(hub, { uids: r.uids }, f)),
  action(Cmd.SendToGroup, ['groups'], ({ hub }, f, r) => {
    hub.counters.groupCommands++;
    return sendTo(hub, { groups: r.groups, except: r.exclude }, f);
  }),
  action(Cmd.CloseWithReason, [], closeWithReason),
  action(Cmd.RejectConnection, [], closeWithReason),
];

/** The frame's body as a message for clients (flag Binary = a binary WebSocket frame). */
function message(f: GatewayFrame): OutgoingMessage {
  return new OutgoingMessage(f.body, (f.flag & FrameFlag.Binary) !== 0);
}

const handTo: TargetVisitor<OutgoingMessage> = (hub, client, m) => hub.send(client, m);

function sendTo(hub: ClientHub, target: Target, f: GatewayFrame): number {
  const reached = resolveTargets(hub, target, handTo, message(f));
  hub.counters.broadcastDeliveries += reached;
  return reached;
}

/**
 * Closes one client with a code and reason (cut to what a close frame holds), after the body if any:
 * CloseWithReason, and RejectConnection (a worker's connect handler refused the client), which marks the client
 * so that the gateway forwards none of the messages it still sends before it sees the close.
 */
function closeWithReason({ hub }: CommandContext, f: GatewayFrame, r: GatewayRequest): number {
  const client = hub.get(f.connectionId);
  if (!client || !client.socket.isOpen) return 0;
  const reject = f.cmd === Cmd.RejectConnection;
  if (reject) {
    client.rejected = true;
    hub.counters.connectionsRejected++;
  } else if (f.body.length > 0) {
    hub.send(client, message(f));
  }
  hub.close(client, {
    code: r.code ?? (reject ? DEFAULT_REJECT_CODE : DEFAULT_CLOSE_CODE),
    reason: truncateCloseReason(r.reason ?? ''),
  });
  return 1;
}
