import { NO_CLOSE_CODE, OTHER_CLOSE_CODE } from '../../gateway/close-tally';
import { Cmd, cmdName } from '../../protocol/command';

/**
 * Label values of the metrics come from closed sets, never from what clients send or name (no client_id, uid,
 * group, message text or peer address): each function here maps a figure to one of a bounded set of values.
 */

/** The label of everything outside a bounded set. */
export const OTHER_LABEL = 'other';

/** `command` label: the command's name (`SendToUid`, `GetClientInfo`, ...) for a code of the protocol, else "other". */
export function commandLabel(code: number): string {
  return Cmd[code] === undefined ? OTHER_LABEL : cmdName(code);
}

/** `code` label of a CloseTally key: the close code, "none" (a raw TCP client ended it), or "other". */
export function closeCodeLabel(key: number): string {
  if (key === NO_CLOSE_CODE) return 'none';
  if (key === OTHER_CLOSE_CODE) return OTHER_LABEL;
  return String(key);
}

/**
 * The reasons a listening side (a gateway's inner port, a register) closes a link for bad input, by the words its
 * rejection starts with (InnerLink, InnerListener, EventDelivery, RegisterServer). The first four are failed
 * handshakes.
 */
const REJECTION_REASONS: readonly [RegExp, string][] = [
  [/^peer does not speak the encrypted inner protocol/, 'not_inner_protocol'],
  [/^peer speaks the encrypted inner protocol but this process runs in plaintext/, 'plaintext_mismatch'],
  [/^peer could not prove it knows the shared secret/, 'wrong_secret'],
  [/^handshake timed out/, 'handshake_timeout'],
  [/^record /, 'bad_record'],
  [/^malformed data from peer/, 'malformed_frame'],
  [/^(did not identify itself|no hello within)/, 'no_hello'],
  [/^(WorkerConnect without|first frame must be)/, 'bad_hello'],
  [/^bad request/, 'bad_request'],
  [/^bad EventAck/, 'bad_ack'],
  [/^replaced by a new link/, 'replaced'],
];

/** Every value {@link rejectionReasonLabel} can return. */
export const REJECTION_REASON_LABELS: readonly string[] = [...REJECTION_REASONS.map(([, label]) => label), OTHER_LABEL];

/** `reason` label of a rejected link, from its reason text (the rejected-links log's per-reason keys, see reasonOf). */
export function rejectionReasonLabel(reason: string): string {
  for (const [pattern, label] of REJECTION_REASONS) if (pattern.test(reason)) return label;
  return OTHER_LABEL;
}
