import { Logger } from '@nestjs/common';
import { GatewayClient } from '../client/gateway-client';
import { clientPartsOf, resolveGatewayClientOptions } from '../client/gateway-client-options';
import { sdkClientHello } from '../client/gateway-hello';
import { GatewayLinkPool } from '../client/gateway-link-pool';
import { encodeClientId, ipv4ToNumber } from '../protocol/client-id';
import { Cmd } from '../protocol/command';
import type { GatewayFrame } from '../protocol/frame';
import { FakePhpGateway } from './testdata/fake-php-gateway';
import { phpVector, vectorBytes } from './testdata/php-vectors';

/**
 * Our GatewayClient with the php profile against a PHP gateway and register played from the captured vectors
 * (real sockets on 127.0.0.1): every call must put PHP's own bytes on the wire (the captured request or command
 * frame), and PHP's captured replies must come back as the native results, client_ids rebuilt from the gateway's
 * address.
 */

let php: FakePhpGateway;
let pool: GatewayLinkPool;
let gw: GatewayClient;

/** The captured replies, by the captured request bytes they answer (capture runs A and C). */
function answerFromVectors(f: GatewayFrame): Buffer | undefined {
  for (const q of ['Q1', 'Q3', 'Q4', 'Q5', 'Q6', 'Q7', 'Q8', 'Q9', 'Q10', 'Q11', 'Q12', 'Q13', 'Q14', 'Q15']) {
    const request = phpVector(q).fields!;
    if (
      request.cmd === f.cmd &&
      request.connection_id === f.connectionId &&
      request.ext_data === f.ext.toString('utf8')
    ) {
      return Buffer.from(phpVector(`${q}-reply`).fields!.payload!, 'utf8');
    }
  }
  return undefined;
}

async function start(phpSecretKey = '', timeoutMs = 2_000): Promise<void> {
  php = await FakePhpGateway.start();
  php.answer = answerFromVectors;
  const options = resolveGatewayClientOptions({
    registers: php.registerAddress,
    plaintext: true,
    wireProfile: 'php',
    phpSecretKey,
    timeoutMs,
  });
  const { links, settings } = clientPartsOf(options, { hello: sdkClientHello() });
  pool = new GatewayLinkPool(links);
  gw = new GatewayClient(pool, settings);
  pool.start();
}

beforeEach(() => {
  for (const level of ['log', 'warn', 'error'] as const)
    jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
});

afterEach(async () => {
  pool.stop();
  await php.close();
  jest.restoreAllMocks();
});

/** The client_id of connection `id` on the fake gateway. */
function clientId(id: number): string {
  const [host, port] = php.address.split(':');
  return encodeClientId({ localIp: ipv4ToNumber(host), localPort: Number(port), connectionId: id });
}

/** The last frame the gateway received with `cmd`, as bytes. */
function lastBytes(cmd: Cmd): Buffer {
  const frames = php.framesOf(cmd);
  if (frames.length === 0) throw new Error(`no ${Cmd[cmd]} received`);
  return frames[frames.length - 1].bytes;
}

describe('GatewayClient with the php profile → a PHP gateway (captured vectors)', () => {
  it('identifies as PHP: worker_connect with secret_key (R1) to the register, CMD 202 with secret_key to the gateway', async () => {
    await start();
    expect(await gw.getAllClientCount()).toBe(1);
    expect(php.registerLines[0]).toBe(vectorBytes('R1').toString('latin1'));
    // Every connection starts with PHP's 202 {"secret_key": ""}; no native frame and no command 100-113, ever.
    const firsts = new Map<number, GatewayFrame>();
    for (const r of php.received) if (!firsts.has(r.connection)) firsts.set(r.connection, r.frame);
    for (const f of firsts.values())
      expect({ cmd: f.cmd, body: f.body.toString() }).toEqual({ cmd: 202, body: '{"secret_key":""}' });
    expect(php.received.every((r) => r.frame.cmd < 100 || r.frame.cmd >= 200)).toBe(true);
  });

  it("sends every request as PHP's GatewayClient does, and reads PHP's replies", async () => {
    await start();
    const c1 = clientId(1);
    const c2 = clientId(2);
    const cases: [string, () => Promise<unknown>, unknown][] = [
      ['Q1', () => gw.getAllClientCount(), 1],
      ['Q3', () => gw.isOnline(c1), true],
      ['Q4', () => gw.getSession(c1), { nick: 'bob' }],
      ['Q5', () => gw.getAllClientSessions(), { [c1]: { nick: 'bob' } }],
      ['Q6', () => gw.getClientIdByUid('u42'), [c1]],
      ['Q7', () => gw.batchGetClientIdByUid(['u42', 'nobody']), { u42: [c1], nobody: [] }],
      ['Q8', () => gw.getClientSessionsByGroup('room1'), { [c1]: { nick: 'bob' } }],
      ['Q9', () => gw.getClientCountByGroup('room1'), 1],
      ['Q10', () => gw.batchGetClientIdCountByGroup(['room1', 'room2']), { room1: 1, room2: 0 }],
      ['Q11', () => gw.getAllClientIdList(), [c1]],
      ['Q12', () => gw.getUidByClientId(c1), 'u42'],
      ['Q13', () => gw.getClientIdListByGroup('room1'), [c1, c2]],
      ['Q14', () => gw.getAllGroupUidList(), { room1: ['u42', 'u7'], room2: ['u7'] }],
      ['Q15', () => gw.getAllGroupIdList(), ['room1']],
    ];
    for (const [q, call, result] of cases) {
      const before = php.received.length;
      expect({ q, result: await call() }).toEqual({ q, result });
      const sent = php.received.slice(before).filter((r) => r.frame.cmd !== Cmd.GatewayClientConnect);
      expect({ q, sent: sent.map((r) => r.bytes.toString('hex')) }).toEqual({
        q,
        sent: [vectorBytes(q).toString('hex')],
      });
    }
    // Derived calls ride the same requests.
    expect(await gw.isUidOnline('u42')).toBe(true);
    expect(await gw.getAllUidList()).toEqual(['u42']);
  });

  it("sends every command in PHP's encoding (F1-F3, F5-F16)", async () => {
    await start();
    const c1 = clientId(1);
    const c2 = clientId(2);
    const cases: [string, () => Promise<unknown>, Cmd][] = [
      ['F1', () => gw.sendToAll('to-all'), Cmd.SendToAll],
      ['F2', () => gw.sendToAll('to-list', [c1]), Cmd.SendToAll],
      ['F3', () => gw.sendToAll('all-but-c1', null, [c1]), Cmd.SendToAll],
      ['F5', () => gw.sendToClient(c1, 'to-client'), Cmd.SendToOne],
      ['F6', () => gw.sendToClient(c1, 12345 as unknown as string), Cmd.SendToOne],
      ['F7', () => gw.sendToUid('u42', 'to-uid'), Cmd.SendToUid],
      ['F8', () => gw.sendToGroup('room1', 'to-group', [c1]), Cmd.SendToGroup],
      ['F9', () => gw.sendToGroup('room1', 'to-group-2'), Cmd.SendToGroup],
      ['F10', () => gw.updateSession(c1, { lvl: 2 }), Cmd.UpdateSession],
      ['F11', () => gw.setSession(c2, { replaced: true }), Cmd.SetSession],
      ['F13', () => gw.leaveGroup(c1, 'room1'), Cmd.LeaveGroup],
      ['F14', () => gw.ungroup('room2'), Cmd.Ungroup],
      ['F15', () => gw.closeClient(c1), Cmd.Kick],
      ['F16', () => gw.destroyClient(c2), Cmd.Destroy],
      ['V9', () => gw.bindUid(c1, 'u42'), Cmd.BindUid],
      ['V10', () => gw.joinGroup(c1, 'room1'), Cmd.JoinGroup],
    ];
    for (const [f, call, cmd] of cases) {
      const before = php.framesOf(cmd).length;
      await call();
      await php.until(() => php.framesOf(cmd).length > before, `${f}`);
      expect({ f, bytes: lastBytes(cmd).toString('hex') }).toEqual({ f, bytes: vectorBytes(f).toString('hex') });
    }
    // F12: PHP sends the uid with unbindUid and its gateway ignores it; ours sends none.
    await gw.unbindUid(c1, 'u42');
    await php.until(() => php.framesOf(Cmd.UnbindUid).length > 0, 'F12');
    const f12 = php.framesOf(Cmd.UnbindUid)[0].frame;
    expect({ cmd: f12.cmd, connectionId: f12.connectionId }).toEqual({ cmd: Cmd.UnbindUid, connectionId: 1 });
  });

  it('refuses what a PHP gateway cannot do, naming the profile, without sending anything native', async () => {
    await start();
    const c1 = clientId(1);
    await expect(gw.getClientInfo(c1)).rejects.toThrow(/GetClientInfo is not available from a PHP gateway/);
    await expect(gw.sendToClient(c1, 'x', { confirm: true })).rejects.toThrow(/cannot be confirmed by a PHP gateway/);
    // closeClient with a code: PHP has no close code; it is a Kick with the message.
    await gw.closeClient(c1, 'bye', { code: 4001, reason: 'replaced' });
    await php.until(() => php.framesOf(Cmd.Kick).length > 0, 'the kick');
    expect(php.framesOf(Cmd.Kick)[0].frame.body.toString()).toBe('bye');
    expect(php.received.every((r) => r.frame.cmd < 100 || r.frame.cmd >= 200)).toBe(true);
  });

  it('with PHP_SECRET_KEY, every connection starts with the 202 frame of the capture (Q2a)', async () => {
    await start('s3cr3t');
    expect(await gw.getAllClientCount()).toBe(1);
    expect(php.registerLines[0]).toBe(vectorBytes('R2').toString('latin1'));
    const requestConnection = php.framesOf(Cmd.GetClientCountByGroup)[0].connection;
    const first = php.received.find((r) => r.connection === requestConnection)!;
    expect(first.bytes.equals(vectorBytes('Q2a'))).toBe(true);
  });

  it('a request that gets no reply times out, and the next one works on a new connection', async () => {
    await start('', 300);
    const answer = php.answer;
    php.answer = () => undefined;
    await expect(gw.isOnline(clientId(1))).rejects.toThrow(/no answer within/);
    php.answer = answer;
    expect(await gw.isOnline(clientId(1))).toBe(true);
    const connections = new Set(php.framesOf(Cmd.IsOnline).map((r) => r.connection));
    expect(connections.size).toBe(2);
  });
});
