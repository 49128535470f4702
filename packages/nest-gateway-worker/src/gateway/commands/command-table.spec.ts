import { Logger } from '@nestjs/common';
import { Cmd, FrameFlag } from '../../protocol/command';
import { decodeFrame, encodeFrame, frame, type GatewayFrame } from '../../protocol/frame';
import { decodeReply, encodeRequest, GatewayRequestError, type GatewayRequest } from '../../protocol/gateway-request';
import type { InnerLink } from '../../protocol/inner-link';
import { ClientConnection } from '../client-connection';
import { ClientHub } from '../client-hub';
import type { ClientSocket } from '../client-socket';
import { resolveGatewayOptions } from '../gateway-options';
import { GatewayCounters } from '../gateway-stats';
import type { OutgoingMessage } from '../outgoing-message';
import { CommandTable, GATEWAY_COMMANDS } from './command-table';
import { raw } from './command-row';
import { TEST_HANDSHAKE as handshake } from '../testdata/test-clients';

/** The hub's bound on unsent bytes in these tests: a socket with more is a slow consumer. */
const MAX_BUFFERED = 1024;

/** A client socket stand-in that records what the gateway does to it. */
class StubWs implements ClientSocket {
  isOpen = true;
  bufferedAmount = 0;
  readonly sent: { data: string; binary: boolean }[] = [];
  readonly closeCodes: (number | undefined)[] = [];
  readonly closeReasons: (string | undefined)[] = [];
  terminated = 0;
  constructor(
    /** Every message the hub hands to a socket, once per recipient. */
    private readonly messages: OutgoingMessage[],
  ) {}
  send(data: Buffer, binary: boolean): void {
    this.sent.push({ data: data.toString('utf8'), binary });
  }
  sendMessage(message: OutgoingMessage): void {
    this.messages.push(message);
    this.send(message.body, message.binary);
  }
  close(code?: number, reason?: string): void {
    this.closeCodes.push(code);
    this.closeReasons.push(reason);
  }
  terminate(): void {
    this.terminated++;
  }
}

const LAN_IP = '10.0.0.7';
const INNER_PORT = 2300;
/** client_id of connection `id` on this gateway: 10.0.0.7 = 0a000007, port 2300 = 08fc. */
const cid = (id: number) => `0a00000708fc${id.toString(16).padStart(8, '0')}`;
const TEXT = FrameFlag.BodyIsScalar;
const BINARY = FrameFlag.BodyIsScalar | FrameFlag.Binary;

interface Command {
  connectionId?: number;
  /** Parameters (encoded with encodeRequest) or raw ext bytes. */
  ext?: GatewayRequest | Buffer;
  body?: string | Buffer;
  flag?: number;
}

let warn: jest.SpyInstance;
beforeEach(() => {
  warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

/** A real hub (no listener, no worker) and the command table over it; commands arrive as encoded frames. */
function setup() {
  let clock = 1_000_000;
  const counters = new GatewayCounters();
  const hub = new ClientHub(
    resolveGatewayOptions({ plaintext: true, lanIp: LAN_IP, pingInterval: 0, maxClientBufferedBytes: MAX_BUFFERED }),
    counters,
  );
  hub.address.innerPort = INNER_PORT;
  const commands = new CommandTable(hub, () => clock);
  const { membership } = hub;
  const messages: OutgoingMessage[] = [];
  const linkBytes: Buffer[] = [];
  const link = {
    send: (bytes: Buffer) => {
      linkBytes.push(bytes);
      return true;
    },
  } as unknown as InnerLink<GatewayFrame>;

  // Connections enter the table directly: through the hub's listener hooks they would also reach event
  // delivery, which is not what these tests are about.
  const connect = (): ClientConnection => {
    const client = new ClientConnection(hub.table.nextId(), new StubWs(messages), 0, handshake);
    hub.table.add(client);
    return client;
  };
  const close = (client: ClientConnection): void => {
    // What the hub does when a connection is gone, minus the OnClose event.
    client.closed = true;
    hub.table.delete(client.id);
    membership.remove(client);
  };
  /** Executes one command, passed through the real frame codec as it would arrive on a link. */
  const run = (cmd: Cmd, c: Command = {}): void => {
    const ext = c.ext === undefined ? Buffer.alloc(0) : Buffer.isBuffer(c.ext) ? c.ext : encodeRequest(c.ext);
    const body = typeof c.body === 'string' ? Buffer.from(c.body) : (c.body ?? Buffer.alloc(0));
    const bytes = encodeFrame(frame({ cmd, connectionId: c.connectionId ?? 0, flag: c.flag ?? TEXT, ext, body }));
    commands.execute(decodeFrame(bytes), link);
  };
  /** Executes a request command and returns the decoded result of its one Reply (throws for an error reply). */
  const ask = (cmd: Cmd, request: GatewayRequest & { rid: number }, connectionId = 0): unknown => {
    linkBytes.length = 0;
    run(cmd, { ext: request, connectionId });
    expect(linkBytes).toHaveLength(1);
    const reply = decodeFrame(linkBytes[0]);
    expect(reply.cmd).toBe(Cmd.Reply);
    expect(reply.connectionId).toBe(request.rid);
    return decodeReply(reply.ext, reply.body);
  };
  const received = (client: ClientConnection) => (client.socket as StubWs).sent.map((m) => m.data);
  const stub = (client: ClientConnection) => client.socket as StubWs;
  return {
    hub,
    commands,
    membership,
    counters,
    warn,
    linkBytes,
    messages,
    connect,
    close,
    run,
    ask,
    received,
    stub,
    advance: (ms: number) => (clock += ms),
  };
}

const sortedIds = (v: unknown) => [...(v as string[])].sort();

describe('CommandTable', () => {
  describe('single-client commands', () => {
    it('SendToOne sends text or binary as flagged, and ignores unknown targets', () => {
      const g = setup();
      const a = g.connect();
      g.run(Cmd.SendToOne, { connectionId: a.id, body: 'hi' });
      g.run(Cmd.SendToOne, { connectionId: a.id, body: Buffer.from([1, 2]), flag: BINARY });
      g.run(Cmd.SendToOne, { connectionId: 999, body: 'lost' });
      expect(g.stub(a).sent).toEqual([
        { data: 'hi', binary: false },
        { data: '\u0001\u0002', binary: true },
      ]);
    });

    it('Kick sends the last message then closes with 1000; Destroy terminates', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      g.run(Cmd.Kick, { connectionId: a.id, body: 'bye' });
      g.run(Cmd.Destroy, { connectionId: b.id });
      g.run(Cmd.Kick, { connectionId: 999 });
      g.run(Cmd.Destroy, { connectionId: 999 });
      expect(g.received(a)).toEqual(['bye']);
      expect(g.stub(a).closeCodes).toEqual([1000]);
      expect(g.stub(b).terminated).toBe(1);
    });

    it('SetSession replaces, UpdateSession merges, a bad session is ignored with a warning', () => {
      const g = setup();
      const a = g.connect();
      g.run(Cmd.SetSession, { connectionId: a.id, ext: Buffer.from('{"user":{"name":"ann"},"n":1}') });
      g.run(Cmd.UpdateSession, { connectionId: a.id, ext: Buffer.from('{"user":{"age":3}}') });
      g.run(Cmd.UpdateSession, { connectionId: a.id, ext: Buffer.from('[1]') });
      expect(JSON.parse(a.session)).toEqual({ user: { name: 'ann', age: 3 }, n: 1 });
      expect(a.sessionVersion).toBe(2);
      expect(g.warn).toHaveBeenCalledWith(
        `UpdateSession ignored: client ${a.id}: a session must be a JSON object or null`,
      );
    });
  });

  describe('sends', () => {
    it('SendToAll reaches every connection, only the listed ones, or all but the excluded', () => {
      const g = setup();
      const [a, b, c] = [g.connect(), g.connect(), g.connect()];
      g.run(Cmd.SendToAll, { body: 'all' }); // empty ext = everyone
      g.run(Cmd.SendToAll, { ext: {}, body: 'all2' });
      g.run(Cmd.SendToAll, { ext: { connections: [a.id, c.id, c.id, 999] }, body: 'listed' });
      g.run(Cmd.SendToAll, { ext: { exclude: [b.id] }, body: 'not-b' });
      g.run(Cmd.SendToAll, { ext: { connections: [a.id, b.id], exclude: [a.id] }, body: 'b-only' });
      g.run(Cmd.SendToAll, { ext: { connections: [] }, body: 'nobody' });
      expect(g.received(a)).toEqual(['all', 'all2', 'listed', 'not-b']);
      expect(g.received(b)).toEqual(['all', 'all2', 'b-only']);
      expect(g.received(c)).toEqual(['all', 'all2', 'listed', 'not-b']);
    });

    it('a send to many clients hands every recipient the same message, so it is framed once', () => {
      const g = setup();
      const [a, b, c] = [g.connect(), g.connect(), g.connect()];
      g.run(Cmd.BindUid, { connectionId: a.id, ext: { uid: 'ann' } });
      g.run(Cmd.BindUid, { connectionId: b.id, ext: { uid: 'bob' } });
      g.run(Cmd.JoinGroup, { connectionId: b.id, ext: { group: 'x' } });
      g.run(Cmd.JoinGroup, { connectionId: c.id, ext: { group: 'y' } });
      const each = (run: () => void): number => {
        g.messages.length = 0;
        run();
        return new Set(g.messages).size;
      };
      expect(each(() => g.run(Cmd.SendToAll, { body: 'all' }))).toBe(1);
      expect(g.messages).toHaveLength(3);
      expect(each(() => g.run(Cmd.SendToUid, { ext: { uids: ['ann', 'bob'] }, body: 'u' }))).toBe(1);
      expect(g.messages).toHaveLength(2);
      expect(each(() => g.run(Cmd.SendToGroup, { ext: { groups: ['x', 'y'] }, body: 'g' }))).toBe(1);
      expect(g.messages).toHaveLength(2);
      expect(g.received(b)).toEqual(['all', 'u', 'g']);
    });

    it('SendToAll keeps a binary message binary', () => {
      const g = setup();
      const a = g.connect();
      g.run(Cmd.SendToAll, { body: Buffer.from([0xff]), flag: BINARY });
      expect(g.stub(a).sent.map((m) => m.binary)).toEqual([true]);
    });

    it('SendToUid reaches every connection of every listed uid', () => {
      const g = setup();
      const [a1, a2, b, other] = [g.connect(), g.connect(), g.connect(), g.connect()];
      g.run(Cmd.BindUid, { connectionId: a1.id, ext: { uid: 'ann' } });
      g.run(Cmd.BindUid, { connectionId: a2.id, ext: { uid: 'ann' } });
      g.run(Cmd.BindUid, { connectionId: b.id, ext: { uid: 'bob' } });
      g.run(Cmd.SendToUid, { ext: { uids: ['ann', 'bob', 'ann', 'nobody'] }, body: 'hello', flag: BINARY });
      expect(g.received(a1)).toEqual(['hello']);
      expect(g.received(a2)).toEqual(['hello']);
      expect(g.stub(b).sent).toEqual([{ data: 'hello', binary: true }]);
      expect(g.received(other)).toEqual([]);
    });

    it('SendToGroup delivers once to a client in several listed groups, minus the excluded', () => {
      const g = setup();
      const [a, b, c, outsider] = [g.connect(), g.connect(), g.connect(), g.connect()];
      g.run(Cmd.JoinGroup, { connectionId: a.id, ext: { group: 'g1' } });
      g.run(Cmd.JoinGroup, { connectionId: a.id, ext: { group: 'g2' } });
      g.run(Cmd.JoinGroup, { connectionId: b.id, ext: { group: 'g2' } });
      g.run(Cmd.JoinGroup, { connectionId: c.id, ext: { group: 'g1' } });
      g.run(Cmd.SendToGroup, { ext: { groups: ['g1', 'g2', 'unknown'] }, body: 'm1' });
      g.run(Cmd.SendToGroup, { ext: { groups: ['g1', 'g2'], exclude: [b.id] }, body: 'm2' });
      g.run(Cmd.SendToGroup, { ext: { groups: ['g1'], exclude: [a.id] }, body: 'm3' });
      expect(g.received(a)).toEqual(['m1', 'm2']);
      expect(g.received(b)).toEqual(['m1']);
      expect(g.received(c)).toEqual(['m1', 'm2', 'm3']);
      expect(g.received(outsider)).toEqual([]);
    });
  });

  describe('confirmed sends (a rid in ext)', () => {
    /** Runs a command and returns the decoded result of its one Reply. */
    const confirmed = (
      g: ReturnType<typeof setup>,
      cmd: Cmd,
      c: Command & { ext: GatewayRequest & { rid: number } },
    ): unknown => {
      g.linkBytes.length = 0;
      g.run(cmd, c);
      expect(g.linkBytes).toHaveLength(1);
      const reply = decodeFrame(g.linkBytes[0]);
      expect(reply.cmd).toBe(Cmd.Reply);
      expect(reply.connectionId).toBe(c.ext.rid);
      return decodeReply(reply.ext, reply.body);
    };

    it('answers each send with the number of connections the message was handed to', () => {
      const g = setup();
      const [a, b, c, d] = [g.connect(), g.connect(), g.connect(), g.connect()];
      g.membership.bindUid(a, 'u');
      g.membership.bindUid(b, 'u');
      g.membership.bindUid(c, 'v');
      g.membership.joinGroup(a, 'red');
      g.membership.joinGroup(c, 'red');
      g.membership.joinGroup(c, 'blue');
      g.membership.joinGroup(d, 'blue');
      expect(confirmed(g, Cmd.SendToOne, { connectionId: b.id, body: 'one', ext: { rid: 1 } })).toBe(1);
      expect(confirmed(g, Cmd.SendToOne, { connectionId: 999, body: 'nobody', ext: { rid: 2 } })).toBe(0);
      expect(confirmed(g, Cmd.SendToUid, { body: 'uid', ext: { rid: 3, uids: ['u', 'v', 'none'] } })).toBe(3);
      expect(
        confirmed(g, Cmd.SendToGroup, { body: 'g', ext: { rid: 4, groups: ['red', 'blue'], exclude: [d.id] } }),
      ).toBe(2);
      expect(confirmed(g, Cmd.SendToGroup, { body: 'g1', ext: { rid: 5, groups: ['blue'] } })).toBe(2);
      expect(confirmed(g, Cmd.SendToAll, { body: 'all', ext: { rid: 6, exclude: [a.id] } })).toBe(3);
      expect(
        confirmed(g, Cmd.SendToAll, { body: 'listed', ext: { rid: 7, connections: [a.id, a.id, 999, d.id] } }),
      ).toBe(2);
      expect(confirmed(g, Cmd.SendToAll, { body: 'every', ext: { rid: 8 } })).toBe(4);
      // The counts are what the clients got.
      expect(g.received(a)).toEqual(['uid', 'g', 'listed', 'every']);
      expect(g.received(b)).toEqual(['one', 'uid', 'all', 'every']);
      expect(g.received(c)).toEqual(['uid', 'g', 'g1', 'all', 'every']);
      expect(g.received(d)).toEqual(['g1', 'all', 'listed', 'every']);
    });

    it('does not count a client whose socket refused the message (closing, slow consumer)', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      g.stub(a).bufferedAmount = MAX_BUFFERED + 1;
      g.stub(b).isOpen = false;
      expect(confirmed(g, Cmd.SendToAll, { body: 'x', ext: { rid: 1 } })).toBe(0);
      expect(g.stub(a).closeCodes).toEqual([4008]); // closed by the hub as a slow consumer
      g.stub(a).isOpen = false;
      expect(confirmed(g, Cmd.SendToOne, { connectionId: a.id, body: 'x', ext: { rid: 2 } })).toBe(0);
      expect(g.counters.slowConsumerDisconnects).toBe(1);
      expect(g.received(a)).toEqual([]);
    });

    it('answers closes with 1 when it closed an open connection, 0 otherwise', () => {
      const g = setup();
      const [a, b, c] = [g.connect(), g.connect(), g.connect()];
      expect(confirmed(g, Cmd.Kick, { connectionId: a.id, body: 'bye', ext: { rid: 1 } })).toBe(1);
      expect(g.received(a)).toEqual(['bye']);
      expect(g.stub(a).closeCodes).toEqual([1000]);
      expect(confirmed(g, Cmd.CloseWithReason, { connectionId: b.id, ext: { rid: 2, code: 4001, reason: 'r' } })).toBe(
        1,
      );
      expect(g.stub(b).closeCodes).toEqual([4001]);
      g.stub(b).isOpen = false;
      expect(confirmed(g, Cmd.CloseWithReason, { connectionId: b.id, ext: { rid: 3, code: 4001 } })).toBe(0);
      expect(confirmed(g, Cmd.Kick, { connectionId: 999, ext: { rid: 4 } })).toBe(0);
      expect(confirmed(g, Cmd.Destroy, { connectionId: c.id, ext: { rid: 5 } })).toBe(1);
      expect(g.stub(c).terminated).toBe(1);
      expect(confirmed(g, Cmd.Destroy, { connectionId: 999, ext: { rid: 6 } })).toBe(0);
    });

    it('sends no reply for a plain (unconfirmed) send or close', () => {
      const g = setup();
      const a = g.connect();
      g.linkBytes.length = 0;
      g.run(Cmd.SendToOne, { connectionId: a.id, body: 'x' });
      g.run(Cmd.SendToAll, { body: 'x', ext: {} });
      g.run(Cmd.SendToAll, { body: 'x' });
      g.run(Cmd.SendToUid, { body: 'x', ext: { uids: ['u'] } });
      g.run(Cmd.Kick, { connectionId: a.id });
      expect(g.linkBytes).toEqual([]);
      expect(g.received(a)).toEqual(['x', 'x', 'x']);
    });

    it('fails a confirmed send with bad parameters with the reason, and sends nothing', () => {
      const g = setup();
      const a = g.connect();
      g.membership.bindUid(a, 'u');
      expect(() =>
        confirmed(g, Cmd.SendToUid, { body: 'x', ext: { rid: 9, uids: [''] } as GatewayRequest & { rid: number } }),
      ).toThrow(GatewayRequestError);
      expect(g.received(a)).toEqual([]);
    });
  });

  describe('uids and groups', () => {
    it('BindUid replaces a connection uid, UnbindUid removes it; unknown targets are ignored', () => {
      const g = setup();
      const a = g.connect();
      g.run(Cmd.BindUid, { connectionId: a.id, ext: { uid: 'u1' } });
      g.run(Cmd.BindUid, { connectionId: a.id, ext: { uid: 'u2' } });
      g.run(Cmd.BindUid, { connectionId: 999, ext: { uid: 'u3' } });
      expect(g.ask(Cmd.Select, { rid: 1, select: 'uid' }, a.id)).toBe('u2');
      expect(g.ask(Cmd.GetClientIdByUid, { rid: 2, uid: 'u1' })).toEqual([]);
      expect(g.ask(Cmd.GetClientIdByUid, { rid: 3, uid: 'u2' })).toEqual([cid(a.id)]);
      expect(g.ask(Cmd.GetClientIdByUid, { rid: 4, uid: 'u3' })).toEqual([]);
      g.run(Cmd.UnbindUid, { connectionId: a.id, ext: {} });
      g.run(Cmd.UnbindUid, { connectionId: 999 });
      expect(g.ask(Cmd.Select, { rid: 5, select: 'uid' }, a.id)).toBeNull();
      expect(g.membership.uidCount).toBe(0);
    });

    it('JoinGroup, LeaveGroup and Ungroup maintain the groups; an emptied group disappears', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      g.run(Cmd.JoinGroup, { connectionId: a.id, ext: { group: 'g1' } });
      g.run(Cmd.JoinGroup, { connectionId: b.id, ext: { group: 'g1' } });
      g.run(Cmd.JoinGroup, { connectionId: b.id, ext: { group: 'g2' } });
      g.run(Cmd.JoinGroup, { connectionId: 999, ext: { group: 'g3' } });
      expect((g.ask(Cmd.GetGroupIdList, { rid: 1 }) as string[]).sort()).toEqual(['g1', 'g2']);
      g.run(Cmd.LeaveGroup, { connectionId: b.id, ext: { group: 'g2' } });
      expect(g.ask(Cmd.GetGroupIdList, { rid: 2 })).toEqual(['g1']);
      g.run(Cmd.Ungroup, { ext: { group: 'g1' } });
      expect(g.ask(Cmd.GetGroupIdList, { rid: 3 })).toEqual([]);
      expect(a.groups).toBeNull();
      expect(b.groups).toBeNull();
    });

    it('a closed connection leaves its uid and groups', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      for (const c of [a, b]) {
        g.run(Cmd.BindUid, { connectionId: c.id, ext: { uid: 'u' } });
        g.run(Cmd.JoinGroup, { connectionId: c.id, ext: { group: 'g' } });
      }
      g.close(a);
      expect(g.ask(Cmd.GetClientIdByUid, { rid: 1, uid: 'u' })).toEqual([cid(b.id)]);
      expect(g.ask(Cmd.GetClientCountByGroup, { rid: 2, group: 'g' })).toBe(1);
      g.close(b);
      expect(g.ask(Cmd.BatchGetClientCountByGroup, { rid: 3 })).toEqual({});
      expect(g.membership.uidCount).toBe(0);
    });
  });

  describe('queries', () => {
    it('IsOnline answers true for a connection of this gateway, false otherwise', () => {
      const g = setup();
      const a = g.connect();
      expect(g.ask(Cmd.IsOnline, { rid: 7 }, a.id)).toBe(true);
      expect(g.ask(Cmd.IsOnline, { rid: 8 }, 999)).toBe(false);
      g.close(a);
      expect(g.ask(Cmd.IsOnline, { rid: 9 }, a.id)).toBe(false);
    });

    it('GetSessionByClientId answers the session, {} when unset, null when no such client', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      g.run(Cmd.SetSession, { connectionId: a.id, ext: Buffer.from('{"k":[1,"x"]}') });
      expect(g.ask(Cmd.GetSessionByClientId, { rid: 1 }, a.id)).toEqual({ k: [1, 'x'] });
      expect(g.ask(Cmd.GetSessionByClientId, { rid: 2 }, b.id)).toEqual({});
      expect(g.ask(Cmd.GetSessionByClientId, { rid: 3 }, 999)).toBeNull();
      g.run(Cmd.SetSession, { connectionId: a.id, ext: Buffer.from('null') });
      expect(g.ask(Cmd.GetSessionByClientId, { rid: 4 }, a.id)).toEqual({});
    });

    it('GetAllClientSessions splices every stored session in under its client_id', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      a.session = '{"name":"ann","deep":{"x":1}}'; // stored text, as SetSession leaves it
      expect(g.ask(Cmd.GetAllClientSessions, { rid: 1 })).toEqual({
        [cid(a.id)]: { name: 'ann', deep: { x: 1 } },
        [cid(b.id)]: {},
      });
      // The stored text goes out as is, not re-serialised.
      const reply = decodeFrame(g.linkBytes[0]);
      expect(reply.body.toString()).toBe(`{"${cid(a.id)}":{"name":"ann","deep":{"x":1}},"${cid(b.id)}":{}}`);
    });

    it('GetClientSessionsByGroup answers the members only; an unknown group answers {}', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      g.run(Cmd.SetSession, { connectionId: a.id, ext: Buffer.from('{"n":1}') });
      g.run(Cmd.JoinGroup, { connectionId: a.id, ext: { group: 'room' } });
      expect(g.ask(Cmd.GetClientSessionsByGroup, { rid: 1, group: 'room' })).toEqual({ [cid(a.id)]: { n: 1 } });
      expect(g.ask(Cmd.GetClientSessionsByGroup, { rid: 2, group: 'none' })).toEqual({});
      expect(b.groups).toBeNull();
    });

    it('BatchGetClientIdByUid answers one key per requested uid', () => {
      const g = setup();
      const [a1, a2, b] = [g.connect(), g.connect(), g.connect()];
      g.run(Cmd.BindUid, { connectionId: a1.id, ext: { uid: 'ann' } });
      g.run(Cmd.BindUid, { connectionId: a2.id, ext: { uid: 'ann' } });
      g.run(Cmd.BindUid, { connectionId: b.id, ext: { uid: '42' } });
      const result = g.ask(Cmd.BatchGetClientIdByUid, { rid: 1, uids: ['ann', '42', 'ghost', 'ann'] }) as Record<
        string,
        string[]
      >;
      expect(Object.keys(result).sort()).toEqual(['42', 'ann', 'ghost']);
      expect(sortedIds(result.ann)).toEqual([cid(a1.id), cid(a2.id)].sort());
      expect(result['42']).toEqual([cid(b.id)]);
      expect(result.ghost).toEqual([]);
    });

    it('GetClientCountByGroup counts a group (0 when unknown) or, without group, every client', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      g.connect();
      g.run(Cmd.JoinGroup, { connectionId: a.id, ext: { group: 'g' } });
      g.run(Cmd.JoinGroup, { connectionId: b.id, ext: { group: 'g' } });
      expect(g.ask(Cmd.GetClientCountByGroup, { rid: 1, group: 'g' })).toBe(2);
      expect(g.ask(Cmd.GetClientCountByGroup, { rid: 2, group: 'none' })).toBe(0);
      expect(g.ask(Cmd.GetClientCountByGroup, { rid: 3 })).toBe(3);
    });

    it('BatchGetClientCountByGroup answers every group, or the listed ones with 0 for unknown ones', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      g.run(Cmd.JoinGroup, { connectionId: a.id, ext: { group: 'g1' } });
      g.run(Cmd.JoinGroup, { connectionId: b.id, ext: { group: 'g1' } });
      g.run(Cmd.JoinGroup, { connectionId: b.id, ext: { group: '__proto__' } });
      expect(g.ask(Cmd.BatchGetClientCountByGroup, { rid: 1 })).toEqual(JSON.parse('{"g1":2,"__proto__":1}'));
      expect(g.ask(Cmd.BatchGetClientCountByGroup, { rid: 2, groups: ['g1', 'nope'] })).toEqual({ g1: 2, nope: 0 });
      expect(g.ask(Cmd.BatchGetClientCountByGroup, { rid: 3, groups: [] })).toEqual({});
    });

    it('GetGroupIdList lists the groups that have members', () => {
      const g = setup();
      expect(g.ask(Cmd.GetGroupIdList, { rid: 1 })).toEqual([]);
      const a = g.connect();
      g.run(Cmd.JoinGroup, { connectionId: a.id, ext: { group: 'x' } });
      expect(g.ask(Cmd.GetGroupIdList, { rid: 2 })).toEqual(['x']);
    });

    describe('Select', () => {
      function populated() {
        const g = setup();
        const [a, b, c, d] = [g.connect(), g.connect(), g.connect(), g.connect()];
        g.run(Cmd.BindUid, { connectionId: a.id, ext: { uid: 'ann' } });
        g.run(Cmd.BindUid, { connectionId: b.id, ext: { uid: 'ann' } });
        g.run(Cmd.BindUid, { connectionId: c.id, ext: { uid: 'cy' } });
        // d stays unbound
        g.run(Cmd.JoinGroup, { connectionId: a.id, ext: { group: 'g1' } });
        g.run(Cmd.JoinGroup, { connectionId: b.id, ext: { group: 'g1' } });
        g.run(Cmd.JoinGroup, { connectionId: b.id, ext: { group: 'g2' } });
        g.run(Cmd.JoinGroup, { connectionId: d.id, ext: { group: 'g2' } });
        return { g, a, b, c, d };
      }

      it('"uid": the bound uid, null when unbound or unknown', () => {
        const { g, a, d } = populated();
        expect(g.ask(Cmd.Select, { rid: 1, select: 'uid' }, a.id)).toBe('ann');
        expect(g.ask(Cmd.Select, { rid: 2, select: 'uid' }, d.id)).toBeNull();
        expect(g.ask(Cmd.Select, { rid: 3, select: 'uid' }, 999)).toBeNull();
      });

      it('"clientIds": every client, or the distinct members of the groups', () => {
        const { g, a, b, c, d } = populated();
        expect(sortedIds(g.ask(Cmd.Select, { rid: 1, select: 'clientIds' }))).toEqual(
          [a, b, c, d].map((x) => cid(x.id)).sort(),
        );
        expect(sortedIds(g.ask(Cmd.Select, { rid: 2, select: 'clientIds', groups: ['g1', 'g2'] }))).toEqual(
          [a, b, d].map((x) => cid(x.id)).sort(),
        );
        expect(g.ask(Cmd.Select, { rid: 3, select: 'clientIds', groups: ['nope'] })).toEqual([]);
      });

      it('"uids": distinct uids of every client or of the groups members (unbound members add none)', () => {
        const { g } = populated();
        expect(sortedIds(g.ask(Cmd.Select, { rid: 1, select: 'uids' }))).toEqual(['ann', 'cy']);
        expect(g.ask(Cmd.Select, { rid: 2, select: 'uids', groups: ['g1', 'g2'] })).toEqual(['ann']);
      });

      it('"groupClientIds" and "groupUids": per group', () => {
        const { g, a, b, d } = populated();
        const ids = g.ask(Cmd.Select, { rid: 1, select: 'groupClientIds' }) as Record<string, string[]>;
        expect(Object.keys(ids).sort()).toEqual(['g1', 'g2']);
        expect(sortedIds(ids.g1)).toEqual([cid(a.id), cid(b.id)].sort());
        expect(sortedIds(ids.g2)).toEqual([cid(b.id), cid(d.id)].sort());
        expect(g.ask(Cmd.Select, { rid: 2, select: 'groupUids' })).toEqual({ g1: ['ann'], g2: ['ann'] });
        expect(g.ask(Cmd.Select, { rid: 3, select: 'groupUids', groups: ['g2', 'nope'] })).toEqual({
          g2: ['ann'],
          nope: [],
        });
      });
    });

    it('answers requests in any order, each under its own rid', () => {
      const g = setup();
      const a = g.connect();
      g.run(Cmd.IsOnline, { connectionId: a.id, ext: { rid: 0xffffffff } });
      g.run(Cmd.GetClientCountByGroup, { ext: { rid: 0 } });
      const replies = g.linkBytes.map((b) => decodeFrame(b));
      expect(replies.map((r) => [r.connectionId, decodeReply(r.ext, r.body)])).toEqual([
        [0xffffffff, true],
        [0, 1],
      ]);
    });
  });

  describe('bad parameters', () => {
    const errorOf = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (err) {
        return err;
      }
      throw new Error('expected an error reply');
    };

    it('fails a request with a usable rid by an error reply naming the reason', () => {
      const g = setup();
      const cases: [Cmd, Record<string, unknown>, string][] = [
        [Cmd.GetClientIdByUid, { rid: 1, uid: 42 }, 'uid must be a non-empty string'],
        [Cmd.GetClientIdByUid, { rid: 2 }, 'uid is required'],
        [Cmd.GetClientSessionsByGroup, { rid: 3, group: '' }, 'group must be a non-empty string'],
        [Cmd.GetClientSessionsByGroup, { rid: 4 }, 'group is required'],
        [Cmd.BatchGetClientIdByUid, { rid: 5 }, 'uids is required'],
        [Cmd.BatchGetClientCountByGroup, { rid: 6, groups: 'g' }, 'groups must be a list of non-empty strings'],
        [Cmd.Select, { rid: 7 }, 'select is required'],
        [Cmd.Select, { rid: 8, select: 'sessions' }, 'select must be one of'],
      ];
      for (const [cmd, ext, reason] of cases) {
        const err = errorOf(() => g.ask(cmd, ext as unknown as GatewayRequest & { rid: number }));
        expect(err).toBeInstanceOf(GatewayRequestError);
        expect((err as Error).message).toContain(reason);
      }
      expect(g.warn).not.toHaveBeenCalled();
    });

    it('logs a request whose rid cannot be read, and sends nothing', () => {
      const g = setup();
      g.run(Cmd.IsOnline, { ext: Buffer.from('{not json') });
      g.run(Cmd.GetGroupIdList, { ext: {} });
      g.run(Cmd.GetClientIdByUid, { ext: { rid: -1, uid: 'u' } as unknown as GatewayRequest });
      expect(g.linkBytes).toEqual([]);
      expect(g.warn.mock.calls.map(([line]) => line)).toEqual([
        'IsOnline ignored: ext_data is not JSON',
        'GetGroupIdList ignored: rid is required',
        'GetClientIdByUid ignored: rid must be an integer 0..2^32-1',
      ]);
    });

    it('ignores a fire-and-forget command with bad parameters, with a warning that never quotes the message', () => {
      const g = setup();
      const a = g.connect();
      expect(() => {
        g.run(Cmd.BindUid, { connectionId: a.id, ext: {} });
        g.run(Cmd.JoinGroup, { connectionId: a.id, ext: { group: 7 } as unknown as GatewayRequest });
        g.run(Cmd.SendToUid, { ext: { uids: 'ann' } as unknown as GatewayRequest, body: 'secret body' });
        g.run(Cmd.SendToGroup, { ext: Buffer.from('[1,2]'), body: 'secret body' });
        g.run(Cmd.SendToAll, { ext: { connections: ['1'] } as unknown as GatewayRequest, body: 'secret body' });
        g.run(Cmd.Ungroup, { ext: {} });
      }).not.toThrow();
      expect(a.uid).toBeNull();
      expect(a.groups).toBeNull();
      expect(g.received(a)).toEqual([]);
      expect(g.linkBytes).toEqual([]);
      const lines = g.warn.mock.calls.map(([line]) => String(line));
      expect(lines).toEqual([
        'BindUid ignored: uid is required',
        'JoinGroup ignored: group must be a non-empty string',
        'SendToUid ignored: uids must be a list of non-empty strings',
        'SendToGroup ignored: ext_data must be a JSON object',
        'SendToAll ignored: connections must be a list of connection ids',
        'Ungroup ignored: group is required',
      ]);
      expect(lines.join('\n')).not.toContain('secret');
      // Nothing else on the link is affected: the next command works.
      g.run(Cmd.SendToAll, { body: 'ok' });
      expect(g.received(a)).toEqual(['ok']);
    });

    it('logs at most one warning per command code per 10 s, then says how many it held back', () => {
      const g = setup();
      for (let i = 0; i < 5; i++) g.run(Cmd.BindUid, { connectionId: 1, ext: {} });
      g.run(Cmd.JoinGroup, { connectionId: 1, ext: {} }); // another code: its own budget
      expect(g.warn).toHaveBeenCalledTimes(2);
      g.advance(9_999);
      g.run(Cmd.BindUid, { connectionId: 1, ext: {} });
      expect(g.warn).toHaveBeenCalledTimes(2);
      g.advance(1);
      g.run(Cmd.BindUid, { connectionId: 1, ext: {} });
      expect(g.warn).toHaveBeenCalledTimes(3);
      expect(g.warn).toHaveBeenLastCalledWith(
        'BindUid ignored: uid is required (5 more BindUid ignored since the last warning)',
      );
    });

    it('sums up the ignored commands of a window that closed, once it closes', () => {
      jest.useFakeTimers();
      try {
        const g = setup();
        for (let i = 0; i < 4; i++) g.run(Cmd.BindUid, { connectionId: 1, ext: {} });
        expect(g.warn).toHaveBeenCalledTimes(1);
        g.advance(10_000);
        jest.advanceTimersByTime(10_000);
        expect(g.warn).toHaveBeenCalledTimes(2);
        expect(g.warn).toHaveBeenLastCalledWith('3 more BindUid ignored in the last 10 s; 4 in all');
      } finally {
        jest.useRealTimers();
      }
    });
  });

  it('logs a command the gateway does not execute once, and ignores it', () => {
    const g = setup();
    g.run(Cmd.OnMessage, { connectionId: 1, body: 'x' });
    g.run(Cmd.OnMessage, { connectionId: 1, body: 'x' });
    g.run(Cmd.Ping);
    expect(g.warn).toHaveBeenCalledTimes(1);
    expect(g.warn).toHaveBeenCalledWith('OnMessage is not supported by this gateway yet; ignored');
    expect(g.linkBytes).toEqual([]);
  });
  // ---- close with a reason, rejection, connection statistics --------------------------------------------

  describe('close with a reason and rejection', () => {
    it('CloseWithReason sends the last message, then closes with the code and reason; 1000 when no code', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      g.run(Cmd.CloseWithReason, {
        connectionId: a.id,
        ext: { code: 4001, reason: 'replaced by a newer login' },
        body: 'bye',
      });
      g.run(Cmd.CloseWithReason, { connectionId: b.id, ext: {} });
      g.run(Cmd.CloseWithReason, { connectionId: 999, ext: { code: 4001 } });
      expect(g.received(a)).toEqual(['bye']);
      expect(g.stub(a).closeCodes).toEqual([4001]);
      expect(g.stub(a).closeReasons).toEqual(['replaced by a newer login']);
      expect(g.stub(b).closeCodes).toEqual([1000]);
      expect(a.rejected).toBe(false);
      expect(g.counters.connectionsRejected).toBe(0);
    });

    it('RejectConnection closes with 4403 by default, marks the client rejected and counts it', () => {
      const g = setup();
      const [a, b] = [g.connect(), g.connect()];
      g.run(Cmd.RejectConnection, { connectionId: a.id, ext: {} });
      g.run(Cmd.RejectConnection, { connectionId: b.id, ext: { code: 4401, reason: 'bad token' } });
      g.run(Cmd.RejectConnection, { connectionId: 999, ext: {} });
      expect(g.stub(a).closeCodes).toEqual([4403]);
      expect(g.stub(a).closeReasons).toEqual(['']);
      expect(g.stub(b).closeCodes).toEqual([4401]);
      expect(g.stub(b).closeReasons).toEqual(['bad token']);
      expect([a.rejected, b.rejected]).toEqual([true, true]);
      expect(g.counters.connectionsRejected).toBe(2);
    });

    it('cuts the reason to 123 bytes without splitting a character', () => {
      const g = setup();
      const a = g.connect();
      g.run(Cmd.RejectConnection, { connectionId: a.id, ext: { reason: 'x' + '€'.repeat(60) } });
      const reason = g.stub(a).closeReasons[0]!;
      expect(reason).toBe('x' + '€'.repeat(40)); // 1 + 40 × 3 = 121 bytes; a 41st € would make 124
      expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    });

    it('ignores a close for a connection that is already closing, and bad codes with a warning', () => {
      const g = setup();
      const a = g.connect();
      g.stub(a).isOpen = false;
      g.run(Cmd.RejectConnection, { connectionId: a.id, ext: {} });
      expect(g.stub(a).closeCodes).toEqual([]);
      expect(g.counters.connectionsRejected).toBe(0);
      const b = g.connect();
      g.run(Cmd.CloseWithReason, { connectionId: b.id, ext: Buffer.from('{"code":1006}') });
      g.run(Cmd.RejectConnection, { connectionId: b.id, ext: Buffer.from('{"reason":5}') });
      expect(g.stub(b).closeCodes).toEqual([]);
      expect(g.warn).toHaveBeenCalledWith(
        expect.stringContaining('CloseWithReason ignored: code must be a WebSocket close code'),
      );
      expect(g.warn).toHaveBeenCalledWith('RejectConnection ignored: reason must be a string');
    });
  });

  describe('connection statistics', () => {
    it('GetClientInfo answers the connection statistics, null when no such client', () => {
      const g = setup();
      const a = g.connect();
      a.messagesIn = 3;
      a.messagesOut = 4;
      g.membership.bindUid(a, 'u1');
      g.membership.joinGroup(a, 'g1');
      g.membership.joinGroup(a, 'g2');
      expect(g.ask(Cmd.GetClientInfo, { rid: 1 }, a.id)).toEqual({
        clientId: cid(a.id),
        connectedAt: a.connectedAt,
        messagesIn: 3,
        messagesOut: 4,
        listener: 'ws://127.0.0.1:0',
        protocol: 'ws',
        remoteAddress: '127.0.0.1',
        remotePort: 1,
        uid: 'u1',
        groups: ['g1', 'g2'],
      });
      const b = g.connect();
      expect(g.ask(Cmd.GetClientInfo, { rid: 2 }, b.id)).toMatchObject({
        uid: null,
        groups: [],
        messagesIn: 0,
        messagesOut: 0,
      });
      expect(g.ask(Cmd.GetClientInfo, { rid: 3 }, 999)).toBeNull();
    });

    it('GetGatewayStats answers address, connections, workers, uptime, every counter and memory', () => {
      const g = setup();
      g.connect();
      g.connect();
      g.counters.connectionsAccepted = 5;
      g.counters.connectionsRejected = 1;
      g.advance(1_500);
      const stats = g.ask(Cmd.GetGatewayStats, { rid: 9 }) as Record<string, unknown>;
      expect(stats).toEqual({
        address: `${LAN_IP}:${INNER_PORT}`,
        connections: 2,
        workers: 0,
        uptimeMs: 1_500,
        counters: { ...new GatewayCounters(), connectionsAccepted: 5, connectionsRejected: 1, uidCommands: 0 },
        memoryRss: expect.any(Number),
        backplane: null,
      });
      expect(stats.memoryRss).toBeGreaterThan(0);
      // GatewayServer.start calls start() once the inner port is bound: the uptime counts from then.
      g.commands.start();
      g.advance(200);
      expect((g.ask(Cmd.GetGatewayStats, { rid: 10 }) as { uptimeMs: number }).uptimeMs).toBe(200);
    });

    it('counts uidCommands as the per-command counts of SendToUid, GetClientIdByUid and BatchGetClientIdByUid', () => {
      const g = setup();
      g.run(Cmd.SendToUid, { ext: { uids: ['u1'] }, body: 'x' });
      // A malformed one reached the gateway too: the per-command count (the metric) has it.
      g.run(Cmd.SendToUid, { ext: {} });
      g.ask(Cmd.GetClientIdByUid, { rid: 1, uid: 'u1' });
      g.ask(Cmd.BatchGetClientIdByUid, { rid: 2, uids: ['u1', 'u2'] });
      g.run(Cmd.SendToGroup, { ext: { groups: ['g'] }, body: 'x' });
      g.ask(Cmd.GetClientCountByGroup, { rid: 3 });
      g.ask(Cmd.GetClientCountByGroup, { rid: 4, group: 'g' });
      const stats = g.ask(Cmd.GetGatewayStats, { rid: 5 }) as { counters: Record<string, number> };
      const received = g.commands.received;
      expect(stats.counters.uidCommands).toBe(
        received[Cmd.SendToUid] + received[Cmd.GetClientIdByUid] + received[Cmd.BatchGetClientIdByUid],
      );
      expect(stats.counters.uidCommands).toBe(4);
      // Not derivable from the command codes: GetClientCountByGroup without a group asks for every client.
      expect(received[Cmd.GetClientCountByGroup]).toBe(2);
      expect(stats.counters.groupCommands).toBe(2);
    });

    it('fails GetClientInfo / GetGatewayStats without a rid only with a warning (nothing to answer to)', () => {
      const g = setup();
      g.run(Cmd.GetGatewayStats, { ext: {} });
      expect(g.linkBytes).toEqual([]);
      expect(g.warn).toHaveBeenCalledWith('GetGatewayStats ignored: rid is required');
    });
  });
});

describe('the command table', () => {
  /** Every command a worker or an SDK client sends to a gateway. */
  const INBOUND = [
    Cmd.SendToOne,
    Cmd.SendToAll,
    Cmd.Kick,
    Cmd.Destroy,
    Cmd.UpdateSession,
    Cmd.GetAllClientSessions,
    Cmd.IsOnline,
    Cmd.BindUid,
    Cmd.UnbindUid,
    Cmd.SendToUid,
    Cmd.GetClientIdByUid,
    Cmd.BatchGetClientIdByUid,
    Cmd.JoinGroup,
    Cmd.LeaveGroup,
    Cmd.SendToGroup,
    Cmd.GetClientSessionsByGroup,
    Cmd.GetClientCountByGroup,
    Cmd.Select,
    Cmd.GetGroupIdList,
    Cmd.Ungroup,
    Cmd.BatchGetClientCountByGroup,
    Cmd.CloseWithReason,
    Cmd.RejectConnection,
    Cmd.GetClientInfo,
    Cmd.GetGatewayStats,
    Cmd.Ping,
    Cmd.GetSessionByClientId,
    Cmd.SetSession,
  ];

  it('has exactly one row for every command workers and SDK clients send, and none for the others', () => {
    const codes = GATEWAY_COMMANDS.map((row) => row.cmd);
    expect([...codes].sort((x, y) => x - y)).toEqual([...INBOUND].sort((x, y) => x - y));
  });

  it('answers the queries with a Reply: exactly these commands are query rows', () => {
    const queries = GATEWAY_COMMANDS.filter((row) => row.kind === 'query').map((row) => row.cmd);
    expect([...queries].sort((x, y) => x - y)).toEqual(
      [
        Cmd.GetAllClientSessions,
        Cmd.IsOnline,
        Cmd.GetClientIdByUid,
        Cmd.BatchGetClientIdByUid,
        Cmd.GetClientSessionsByGroup,
        Cmd.GetClientCountByGroup,
        Cmd.Select,
        Cmd.GetGroupIdList,
        Cmd.BatchGetClientCountByGroup,
        Cmd.GetSessionByClientId,
        Cmd.GetClientInfo,
        Cmd.GetGatewayStats,
      ].sort((x, y) => x - y),
    );
  });

  it('refuses two rows for one command code', () => {
    const g = setup();
    expect(() => new CommandTable(g.hub, Date.now, [...GATEWAY_COMMANDS, raw(Cmd.Ping, () => undefined)])).toThrow(
      'two command rows for Ping',
    );
  });

  it('executes a row added to it: a new command is one row', () => {
    const g = setup();
    const seen: number[] = [];
    const table = new CommandTable(g.hub, Date.now, [
      ...GATEWAY_COMMANDS,
      raw(Cmd.OnWebSocketConnect, (_ctx, f) => void seen.push(f.connectionId)),
    ]);
    const link = { send: () => true } as unknown as InnerLink<GatewayFrame>;
    table.execute(decodeFrame(encodeFrame(frame({ cmd: Cmd.OnWebSocketConnect, connectionId: 42 }))), link);
    expect(seen).toEqual([42]);
    expect(g.warn).not.toHaveBeenCalled();
  });

  it('sends and closes through the hub: a send counts in the gateway counters, a kick closes through the reaper', () => {
    const g = setup();
    const a = g.connect();
    g.run(Cmd.SendToOne, { connectionId: a.id, body: 'x' });
    g.run(Cmd.SendToAll, { body: 'y' });
    expect([a.messagesOut, g.counters.messagesOut]).toEqual([2, 2]);
    g.run(Cmd.Kick, { connectionId: a.id });
    expect(g.stub(a).closeCodes).toEqual([1000]);
  });
});
