import { encodeClientId } from '../protocol/client-id';
import { CLIENT_IDS_PER_GATEWAY, ClientIds } from './client-ids';

const gw = (localIp: number, localPort: number) => (connectionId: number) => ({ localIp, localPort, connectionId });

describe('ClientIds', () => {
  const a = gw(0x7f000001, 2300);
  const b = gw(0x0a00000c, 2300); // another gateway, same port
  const c = gw(0x7f000001, 2301); // same host, another port

  it('gives the client_id encodeClientId gives, for every gateway and connection, in any order', () => {
    const ids = new ClientIds();
    const addresses = [a(1), b(1), c(1), a(0xffffffff), b(7), a(1), c(0), gw(0xffffffff, 65535)(0xdeadbeef)];
    for (const x of [...addresses, ...addresses.reverse()]) expect(ids.of(x)).toBe(encodeClientId(x));
    expect(ids.of(a(1))).toBe('7f00000108fc00000001');
    expect(ids.of(b(1))).toBe('0a00000c08fc00000001');
  });

  it('remembers a connection until it is forgotten', () => {
    const ids = new ClientIds();
    const first = ids.of(a(5));
    ids.of(b(5));
    ids.of(a(5)); // from the table: no new entry
    expect(ids.size).toBe(2);
    ids.forget(a(5));
    expect(ids.size).toBe(1);
    expect(ids.of(a(5))).toBe(first); // formatted anew, the same client_id
    expect(ids.size).toBe(2);
    ids.forget(c(9)); // a gateway it never saw: nothing happens
    expect(ids.size).toBe(2);
  });

  it('drops a gateway’s table when its link is lost, and only that one', () => {
    const ids = new ClientIds();
    for (let i = 0; i < 10; i++) {
      ids.of(a(i));
      ids.of(c(i));
    }
    ids.forgetGateway('127.0.0.2:2300'); // no such gateway: nothing goes
    expect(ids.size).toBe(20);
    ids.forgetGateway('127.0.0.1:2300');
    expect(ids.size).toBe(10);
    expect(ids.of(a(3))).toBe(encodeClientId(a(3)));
    expect(ids.size).toBe(11);
  });

  it('keeps at most CLIENT_IDS_PER_GATEWAY connections per gateway', () => {
    const ids = new ClientIds();
    for (let i = 0; i < CLIENT_IDS_PER_GATEWAY + 10; i++) ids.of(a(i));
    expect(ids.size).toBeLessThanOrEqual(CLIENT_IDS_PER_GATEWAY);
    expect(ids.of(a(CLIENT_IDS_PER_GATEWAY + 20))).toBe(encodeClientId(a(CLIENT_IDS_PER_GATEWAY + 20)));
  });
});
