import { ClientConnection } from '../client-connection';
import { ClientHub } from '../client-hub';
import { resolveGatewayOptions } from '../gateway-options';
import { GatewayCounters } from '../gateway-stats';
import { ALL, countTargets, resolveTargets, type Target, type TargetVisitor } from './targets';
import { recordingSocket, TEST_HANDSHAKE as handshake } from '../testdata/test-clients';

function populated() {
  const hub = new ClientHub(resolveGatewayOptions({ plaintext: true, pingInterval: 0 }), new GatewayCounters());
  const connect = (): ClientConnection => {
    const socket = recordingSocket();
    const client = new ClientConnection(hub.table.nextId(), socket, 0, handshake);
    hub.table.add(client);
    return client;
  };
  const [a, b, c, d] = [connect(), connect(), connect(), connect()];
  hub.membership.bindUid(a, 'ann');
  hub.membership.bindUid(b, 'ann');
  hub.membership.bindUid(c, 'cy');
  hub.membership.joinGroup(a, 'g1');
  hub.membership.joinGroup(b, 'g1');
  hub.membership.joinGroup(b, 'g2');
  hub.membership.joinGroup(d, 'g2');
  return { hub, a, b, c, d };
}

const visited: TargetVisitor<number[]> = (_hub, client, out) => {
  out.push(client.id);
  return true;
};

/** The ids `target` resolves to, in visiting order. */
function ids(hub: ClientHub, target: Target): number[] {
  const out: number[] = [];
  const count = resolveTargets(hub, target, visited, out);
  expect(count).toBe(out.length);
  expect(countTargets(hub, target)).toBe(out.length);
  return out;
}

describe('resolveTargets', () => {
  it('all: every connection, minus except', () => {
    const { hub, a, b, c, d } = populated();
    expect(ids(hub, ALL)).toEqual([a.id, b.id, c.id, d.id]);
    expect(ids(hub, { all: true, except: [b.id, 999] })).toEqual([a.id, c.id, d.id]);
  });

  it('connections: each listed open connection once, unknown ids and except left out', () => {
    const { hub, a, c, d } = populated();
    expect(ids(hub, { connections: [c.id, a.id, c.id, 999] })).toEqual([c.id, a.id]);
    expect(ids(hub, { connections: [a.id, d.id], except: [a.id] })).toEqual([d.id]);
    expect(ids(hub, { connections: [] })).toEqual([]);
  });

  it('uids: every connection of every listed uid, once however often the uid is listed', () => {
    const { hub, a, b, c } = populated();
    expect(ids(hub, { uids: ['ann', 'cy', 'ann', 'nobody'] })).toEqual([a.id, b.id, c.id]);
    expect(ids(hub, { uids: ['ann'], except: [a.id] })).toEqual([b.id]);
  });

  it('groups: each member once, even when it is in several listed groups, minus except', () => {
    const { hub, a, b, d } = populated();
    expect(ids(hub, { groups: ['g1'] })).toEqual([a.id, b.id]);
    expect(ids(hub, { groups: ['g1', 'g2', 'unknown'] })).toEqual([a.id, b.id, d.id]);
    expect(ids(hub, { groups: ['g1', 'g2'], except: [b.id] })).toEqual([a.id, d.id]);
    expect(ids(hub, { groups: ['g2'], except: [d.id] })).toEqual([b.id]);
    expect(ids(hub, { groups: ['unknown'] })).toEqual([]);
    expect(ids(hub, { groups: [] })).toEqual([]);
  });

  it('counts only the visits that return true, and passes the argument through', () => {
    const { hub, b } = populated();
    const notB: TargetVisitor<number> = (_hub, client, skip) => client.id !== skip;
    expect(resolveTargets(hub, ALL, notB, b.id)).toBe(3);
    expect(resolveTargets(hub, { groups: ['g1', 'g2'] }, notB, b.id)).toBe(2);
  });
});
