import { ClientConnection } from '../gateway/client-connection';
import type { ClientSocket } from '../gateway/client-socket';
import { phpSessionOf, setPhpSession, updatePhpSession } from './php-session';
import { PhpSerializeError } from './php-serialize';

/** One session, a JSON view for Nest workers and an exact PHP view for PHP peers. */
function client(): ClientConnection {
  return new ClientConnection(1, {} as ClientSocket, 0x7f000001, {
    listener: 'ws://127.0.0.1:0',
    protocol: 'ws',
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    url: '/',
    query: {},
    headers: {},
  });
}

describe('php-session', () => {
  it('a new client: no session for either side ("" for PHP, null JSON)', () => {
    const c = client();
    expect(phpSessionOf(c).toString()).toBe('');
    expect(c.session).toBe('null');
  });

  it('a PHP write is kept byte for byte for PHP readers, and read as JSON by Nest; a Nest write is serialize()d', () => {
    const c = client();
    // A float written as PHP writes 2.0, and a non-UTF-8 byte: both survive for PHP readers.
    const bytes = Buffer.concat([
      Buffer.from('a:2:{s:1:"f";d:2;s:1:"b";s:1:"'),
      Buffer.from([0xff]),
      Buffer.from('";}'),
    ]);
    expect(setPhpSession(c, bytes)).toBeNull();
    expect(phpSessionOf(c).equals(bytes)).toBe(true);
    expect(JSON.parse(c.session)).toEqual({ f: 2, b: '\ufffd' });
    expect(c.sessionVersion).toBe(1);
    // A native write (what SetSession from a Nest worker does): PHP readers get its serialize().
    c.session = JSON.stringify({ nick: 'bob', tags: ['a'], '42': true });
    c.sessionVersion++;
    expect(phpSessionOf(c).toString()).toBe('a:3:{i:42;b:1;s:4:"nick";s:3:"bob";s:4:"tags";a:1:{i:0;s:1:"a";}}');
    c.session = 'null';
    expect(phpSessionOf(c).toString()).toBe('');
  });

  it('a PHP session that is not a readable array stays for PHP readers; Nest readers see none', () => {
    const c = client();
    expect(setPhpSession(c, Buffer.from('O:8:"stdClass":0:{}'))).toMatch(/unsupported type "O"/);
    expect(phpSessionOf(c).toString()).toBe('O:8:"stdClass":0:{}');
    expect(c.session).toBe('null');
  });

  it("updateSession from a PHP caller: array_replace_recursive, lists by index; '' takes the update as it is", () => {
    const c = client();
    updatePhpSession(c, Buffer.from('a:1:{s:1:"l";a:2:{i:0;i:1;i:1;i:2;}}'));
    expect(phpSessionOf(c).toString()).toBe('a:1:{s:1:"l";a:2:{i:0;i:1;i:1;i:2;}}');
    updatePhpSession(c, Buffer.from('a:2:{s:1:"l";a:1:{i:0;i:9;}s:1:"n";i:1;}'));
    expect(phpSessionOf(c).toString()).toBe('a:2:{s:1:"l";a:2:{i:0;i:9;i:1;i:2;}s:1:"n";i:1;}');
    expect(JSON.parse(c.session)).toEqual({ l: [9, 2], n: 1 });
    expect(() => updatePhpSession(c, Buffer.from('i:1;'))).toThrow(PhpSerializeError);
    expect(phpSessionOf(c).toString()).toBe('a:2:{s:1:"l";a:2:{i:0;i:9;i:1;i:2;}s:1:"n";i:1;}');
  });
});
