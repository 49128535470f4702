import { Cmd } from '../../protocol/command';
import { action, type CommandRow } from './command-row';

/**
 * uid and group membership of single connections (named in the header's connection_id), and Ungroup. Each
 * returns the number of connections it changed (1, or 0 for an unknown connection), which a rid in ext
 * answers with.
 */
export const MEMBERSHIP_COMMANDS: readonly CommandRow[] = [
  action(Cmd.BindUid, ['uid'], ({ hub }, f, r) => {
    const client = hub.get(f.connectionId);
    if (!client) return 0;
    hub.membership.bindUid(client, r.uid);
    return 1;
  }),
  action(Cmd.UnbindUid, [], ({ hub }, f) => {
    const client = hub.get(f.connectionId);
    if (!client) return 0;
    hub.membership.unbindUid(client);
    return 1;
  }),
  action(Cmd.JoinGroup, ['group'], ({ hub }, f, r) => {
    const client = hub.get(f.connectionId);
    if (!client) return 0;
    hub.membership.joinGroup(client, r.group);
    return 1;
  }),
  action(Cmd.LeaveGroup, ['group'], ({ hub }, f, r) => {
    const client = hub.get(f.connectionId);
    if (!client) return 0;
    hub.membership.leaveGroup(client, r.group);
    return 1;
  }),
  action(Cmd.Ungroup, ['group'], ({ hub }, _f, r) => {
    hub.counters.groupCommands++;
    hub.membership.ungroup(r.group);
    return 0;
  }),
];
