import { Cmd } from '../../protocol/command';
import type { GatewayFrame } from '../../protocol/frame';
import { mergeSession, parseSessionJson } from '../../protocol/session-json';
import { raw, type CommandContext, type CommandRow } from './command-row';

/**
 * Session writes of one connection: the ext is the session JSON itself (not a request), SetSession replaces,
 * UpdateSession merges. A bad session is ignored with a warning; an unknown connection silently.
 */
export const SESSION_COMMANDS: readonly CommandRow[] = [
  raw(Cmd.SetSession, writeSession),
  raw(Cmd.UpdateSession, writeSession),
];

function writeSession(ctx: CommandContext, f: GatewayFrame): void {
  const client = ctx.hub.get(f.connectionId);
  if (!client) return;
  try {
    const written = parseSessionJson(f.ext);
    client.session = JSON.stringify(
      f.cmd === Cmd.SetSession ? written : mergeSession(JSON.parse(client.session), written),
    );
    client.sessionVersion++;
  } catch (err) {
    ctx.warnIgnored(f.cmd, `client ${client.id}: ${(err as Error).message}`);
  }
}
