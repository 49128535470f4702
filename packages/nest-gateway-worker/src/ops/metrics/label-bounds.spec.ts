import type { ClientConnection } from '../../gateway/client-connection';
import { CloseTally } from '../../gateway/close-tally';
import { Cmd } from '../../protocol/command';
import { HandlerTimings, NO_MESSAGE_TYPE, OTHER_MESSAGE_TYPE } from './handler-timings';
import {
  closeCodeLabel,
  commandLabel,
  OTHER_LABEL,
  REJECTION_REASON_LABELS,
  rejectionReasonLabel,
} from './label-bounds';

/** What CloseTally reads of a connection. */
function connection(closeCode = 0): ClientConnection {
  return { closeCode } as ClientConnection;
}

describe('metric labels come from bounded sets', () => {
  it('command: the protocol name of every known code, "other" for the rest of the 256', () => {
    expect(commandLabel(Cmd.SendToUid)).toBe('SendToUid');
    expect(commandLabel(Cmd.GetGatewayStats)).toBe('GetGatewayStats');
    expect(commandLabel(99)).toBe(OTHER_LABEL);
    const labels = new Set(Array.from({ length: 256 }, (_, code) => commandLabel(code)));
    const known = Object.values(Cmd).filter((v) => typeof v === 'string');
    expect([...labels].sort()).toEqual([...known, OTHER_LABEL].sort());
  });

  it('close code: the gateway\'s own code, a client\'s standard code, or "other" / "none"', () => {
    const tally = new CloseTally();
    tally.count(connection(4009), 1006); // the gateway closed it (heartbeat); the peer never answered
    tally.count(connection(4401), 4401); // a worker rejected it: the code the gateway sent
    tally.count(connection(), 1001); // the client left (a browser tab closed)
    tally.count(connection(), 1006); // cut without a close frame
    for (let code = 3000; code < 3100; code++) tally.count(connection(), code); // clients choose these: one label
    tally.count(connection(), 999);
    tally.count(connection(), undefined); // a raw TCP client ended it
    tally.count(connection(1008), undefined); // a raw TCP client over the rate limit
    const byLabel = Object.fromEntries([...tally.entries()].map(([key, n]) => [closeCodeLabel(key), n]));
    expect(byLabel).toEqual({ '4009': 1, '4401': 1, '1001': 1, '1006': 1, other: 101, none: 1, '1008': 1 });
  });

  it('rejection reason: one of a fixed set, from the reasons the links give', () => {
    const reasons: [string, string][] = [
      [
        'peer does not speak the encrypted inner protocol (a plaintext or PHP peer?): set the same SECRET_KEY on both sides',
        'not_inner_protocol',
      ],
      [
        'peer speaks the encrypted inner protocol but this process runs in plaintext: set the same SECRET_KEY on both sides',
        'plaintext_mismatch',
      ],
      ['peer could not prove it knows the shared secret: SECRET_KEY differs between the two sides', 'wrong_secret'],
      ['handshake timed out (is the peer speaking the encrypted inner protocol?)', 'handshake_timeout'],
      ['record #12 failed authentication (tampered, replayed or reordered)', 'bad_record'],
      ['record length 99999999 is out of range', 'bad_record'],
      ['malformed data from peer: pack_len 3 is smaller than the 28-byte header', 'malformed_frame'],
      ['did not identify itself within 10 s', 'no_hello'],
      ['no hello within the time allowed', 'no_hello'],
      ['first frame must be WorkerConnect or GatewayClientConnect, got SendToAll', 'bad_hello'],
      ['WorkerConnect without a worker_key', 'bad_hello'],
      ['bad request: not JSON', 'bad_request'],
      ['bad EventAck from worker w:1-1: EventAck range 5-1 is reversed', 'bad_ack'],
      ['replaced by a new link from worker w:1-1', 'replaced'],
      ['anything new', OTHER_LABEL],
    ];
    for (const [reason, label] of reasons)
      expect({ reason, label: rejectionReasonLabel(reason) }).toEqual({ reason, label });
    expect(REJECTION_REASON_LABELS).toEqual(expect.arrayContaining(reasons.map(([, l]) => l)));
  });

  it('message type: only types of typed handlers; the untyped handler is "other", connect and close "none"', () => {
    const timings = new HandlerTimings();
    timings.observe('connect', undefined, 0.001);
    timings.observe('message', 'say', 0.002);
    timings.observe('message', 'say', 0.003);
    timings.observe('message', undefined, 0.004); // any type a client invents goes here: no handler of its own
    timings.observe('close', undefined, 0.005);
    expect(timings.series().map((s) => [s.event, s.type, s.histogram.count])).toEqual([
      ['connect', NO_MESSAGE_TYPE, 1],
      ['message', 'say', 2],
      ['message', OTHER_MESSAGE_TYPE, 1],
      ['close', NO_MESSAGE_TYPE, 1],
    ]);
  });
});
