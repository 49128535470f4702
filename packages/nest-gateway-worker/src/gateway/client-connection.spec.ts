import { remoteIpToNumber } from '../protocol/client-id';
import { ClientConnection } from './client-connection';
import { recordingSocket, TEST_HANDSHAKE } from './testdata/test-clients';

/** A connection opened from `address`, its u32 computed as the WebSocket listener does (or given). */
function from(address: string, remoteIp = remoteIpToNumber(address)): ClientConnection {
  return new ClientConnection(1, recordingSocket(), remoteIp, { ...TEST_HANDSHAKE, remoteAddress: address });
}

/** Whether the connection keeps its address as a string of its own (else it rebuilds it from remoteIp). */
function keepsAddressText(client: ClientConnection): boolean {
  return (client as unknown as { otherAddress: string | null }).otherAddress !== null;
}

describe('ClientConnection remote address', () => {
  test.each(['127.0.0.1', '10.0.0.1', '192.168.1.10', '255.255.255.255', '1.2.3.4'])(
    'an IPv4 peer %s is rebuilt from remoteIp, no string kept',
    (address) => {
      const client = from(address);
      expect(client.remoteAddress).toBe(address);
      expect(keepsAddressText(client)).toBe(false);
    },
  );

  test.each([
    // IPv6 peers: remoteIp is 0 (PHP's rule), the text is kept.
    ['::1', 0],
    ['2001:db8::1', 0],
    // 0.0.0.0 has remoteIp 0, which stands for "not IPv4": the text is kept.
    ['0.0.0.0', 0],
    // A remoteIp that does not spell the address (a listener that reports them apart): the address wins.
    ['10.0.0.2', 0x0a000001],
    ['010.0.0.1', 0x0a000001],
    ['10.0.0.1 ', 0x0a000001],
  ])('%j with remoteIp %i keeps its text', (address, remoteIp) => {
    const client = from(address, remoteIp);
    expect(client.remoteAddress).toBe(address);
    expect(keepsAddressText(client)).toBe(true);
  });
});
